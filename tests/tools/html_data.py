#!/usr/bin/env python3
"""Prints the data of a ferret HTML report as JSON text: the plain JSON
element's text, or its deflated base64 parts inflated and joined (as the page
does with DecompressionStream). Exit 2 when the page has no data element.

    html_data.py PAGE.html [--kind]     (--kind: print 'json' or 'deflate')
"""
import base64
import re
import sys
import zlib

page = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/(json|x-ferret-deflate)" id="ferret-data">(.*?)</script>', page, re.S)
if not m:
    sys.exit(2)
if "--kind" in sys.argv[2:]:
    print("json" if m.group(1) == "json" else "deflate")
elif m.group(1) == "json":
    sys.stdout.write(m.group(2))
else:
    sys.stdout.write("".join(zlib.decompress(base64.b64decode(p)).decode("utf-8") for p in m.group(2).split()))
