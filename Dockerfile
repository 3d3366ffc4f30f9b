# ferret's container image: Debian 12, the ferret binary and the shared
# libraries it links (libgit2, Hyperscan, PCRE2, SQLite, libyaml, libarchive,
# jansson, OpenSSL's libcrypto) — nothing else is added to the base.
#   docker build -t ferret .
#   docker run --rm -v /srv/mirrors:/mirrors:ro -v /srv/out:/out ferret \
#     scan --shard 0/4 --db /out/shard-0.db /mirrors
# deploy/k8s/ runs it as a Kubernetes Indexed Job (one shard per completion
# index) followed by the merge Job.
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libgit2-dev libhyperscan-dev libpcre2-dev \
      libsqlite3-dev libyaml-dev libarchive-dev zlib1g-dev libjansson-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY src src
COPY patterns patterns
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DFERRET_TESTS=OFF -DFERRET_BENCH=OFF \
    && cmake --build /build -j"$(nproc)" --target ferret

FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgit2-1.5 libhyperscan5 libpcre2-8-0 libsqlite3-0 libyaml-0-2 libarchive13 \
      libjansson4 libssl3 zlib1g \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/ferret /usr/local/bin/ferret
# no root: the stores are written as this user (give the volumes its uid)
USER 65532:65532
ENV HOME=/tmp
ENTRYPOINT ["/usr/local/bin/ferret"]
CMD ["--help"]
