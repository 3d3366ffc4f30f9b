"""Checks ferret's HTML report in headless Chromium (tests/tools/browser.py):
the rendered DOM against the JSONL report of the same store (exact counts of
rows, chart bars and filter results), sorting, the detail view, the layout at
a wide and a narrow window (element boxes and the screenshot's size, not its
pixels), and that the console stays free of errors.

    html_check.py small REPORT.html REPORT.jsonl OUTDIR
    html_check.py scale REPORT.html STORE.db OUTDIR
    html_check.py broken REPORT.html - OUTDIR     (deflated data that cannot be read)

Prints one line per check ("ok ..." or "FAIL ...") and exits 1 if any failed.
"""
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import Browser  # noqa: E402

FAILED = 0
SEV = ["", "low", "medium", "high", "critical"]


def check(cond, what):
    global FAILED
    print(("ok " if cond else "FAIL ") + what)
    if not cond:
        FAILED += 1


def eq(got, want, what):
    check(got == want, "%s: got %r, expected %r" % (what, got, want))


def family(rule):
    return rule.split(".")[0]


def count(b):
    return int(b.js("return document.getElementById('count').dataset.n"))


def nrows(b):
    return b.js("return document.querySelectorAll('#rows .row').length")


def settle(b):
    """Waits for the filter text's debounce and a frame."""
    time.sleep(0.3)
    b.js("return new Promise(function (r) { requestAnimationFrame(function () { r(1); }); })")


def select(b, sel, value):
    b.click('%s option[value="%s"]' % (sel, value))
    settle(b)


def clear(b):
    b.click("#f-clear")
    settle(b)


def errors(b, when):
    bad = [m for lvl, m in b.console() if lvl in ("SEVERE", "WARNING")]
    eq(bad, [], "console errors and warnings " + when)


def boxes(b):
    return b.js("""
      function r(e) { var x = e.getBoundingClientRect(); return [x.left, x.top, x.width, x.height]; }
      var o = {};
      document.querySelectorAll('.chart').forEach(function (e) { o[e.id] = r(e); });
      ['kpis', 'charts', 'findings', 'filters', 'viewport'].forEach(function (id) { o[id] = r(document.getElementById(id)); });
      o.win = [window.innerWidth, window.innerHeight];
      o.scrollW = document.documentElement.scrollWidth;
      return o;""")


def overlap(a, c):
    return a[0] < c[0] + c[2] - 1 and c[0] < a[0] + a[2] - 1 and a[1] < c[1] + c[3] - 1 and c[1] < a[1] + a[3] - 1


def layout(b, out, width, height):
    b.resize(width, height)
    b.js("window.scrollTo(0, 0)")
    b.wait("return document.body.dataset.drawn == window.innerWidth")  # charts redrawn at this width
    settle(b)
    o = boxes(b)
    W = o["win"][0]
    charts = ["chart-time", "chart-status", "chart-valid", "chart-repo", "chart-family"]
    check(o["scrollW"] <= W, "%dpx: the page is no wider than the window (%s <= %s)" % (width, o["scrollW"], W))
    for i, a in enumerate(charts):
        check(o[a][2] > 0 and o[a][3] > 0 and o[a][0] >= 0 and o[a][0] + o[a][2] <= W + 0.5,
              "%dpx: %s inside the window %s" % (width, a, o[a]))
        for c in charts[i + 1:]:
            check(not overlap(o[a], o[c]), "%dpx: %s and %s do not overlap" % (width, a, c))
    check(o["kpis"][1] + o["kpis"][3] <= o["charts"][1] + 0.5, "%dpx: the summary is above the charts" % width)
    check(o["charts"][1] + o["charts"][3] <= o["findings"][1] + 0.5, "%dpx: the table is below the charts" % width)
    if width >= 900:
        # time spans the grid; status and validation share a row, as do repository and family
        t, s, v, r, f = (o[c] for c in charts)
        check(abs(t[2] - o["charts"][2]) < 1, "%dpx: the time chart spans the grid" % width)
        check(abs(s[1] - v[1]) < 1 and s[0] < v[0], "%dpx: status and validation side by side" % width)
        check(abs(r[1] - f[1]) < 1 and r[0] < f[0], "%dpx: repository and family side by side" % width)
        check(s[1] >= t[1] + t[3] and r[1] >= s[1] + s[3], "%dpx: chart rows in order" % width)
    else:
        lefts = {round(o[c][0]) for c in charts}
        eq(len(lefts), 1, "%dpx: one column of charts" % width)
        check(all(o[charts[i]][1] + o[charts[i]][3] <= o[charts[i + 1]][1] + 0.5 for i in range(4)),
              "%dpx: charts stacked in order" % width)
    shot = os.path.join(out, "report-%d.png" % width)
    w, h = b.screenshot(shot)
    eq((w, h), tuple(o["win"]), "%dpx: the screenshot is the window's size" % width)


def small(html, jsonl, out):
    rows = [json.loads(l) for l in open(jsonl) if l.strip()]
    N = len(rows)
    with Browser() as b:
        b.open(html)
        b.wait("return document.body.dataset.ready === '1'")
        errors(b, "after loading")
        eq(b.js("return document.title"), "ferret: secrets report", "no script injected by a path or an author")
        eq(b.js("return document.querySelectorAll('script').length"), 2, "the page's two script elements only")
        eq(count(b), N, "count of findings shown")
        eq(nrows(b), N, "table rows rendered")
        hostile = [r["id"] for r in rows if any("</script>" in (o.get("path", "") + o.get("author_email", "")) for o in r["occurrences"])]
        eq(len(hostile), 1, "one finding with a hostile path and author")
        b.type("#q", "dir</script>")
        settle(b)
        eq([count(b), b.js("return document.querySelector('#rows .row').dataset.id")], [1, hostile[0]],
           "the hostile path is text in the table, and found by the filter")
        eq(b.js("return document.querySelector('#rows .row').children[6].textContent"), "dir</script>.pem:1",
           "the path shown as it is")
        clear(b)
        eq(b.js("return document.querySelector('.kpi').querySelector('b').textContent"), str(N), "summary: findings")

        def month(r):
            return r["introduced"][:7]

        def is_open(r):
            return r.get("status", "open") == "open"

        eq(b.js("return document.querySelectorAll('#chart-time .bar').length"),
           len({(month(r), is_open(r)) for r in rows}), "time chart: bars (month x open/closed)")
        eq(b.js("return document.querySelectorAll('#chart-status .bar').length"),
           len({r.get("status", "open") for r in rows}), "status chart: bars")
        eq(b.js("return document.querySelectorAll('#chart-valid .bar').length"),
           len({r["validated"] for r in rows}), "validation chart: bars")
        intro_repo = {}
        for r in rows:
            o = min(r["occurrences"], key=lambda o: o.get("date") or "~")
            intro_repo[r["id"]] = o.get("repo", "")
        eq(b.js("return document.querySelectorAll('#chart-repo .bar').length"),
           len({(intro_repo[r["id"]], r["severity"]) for r in rows}), "repository chart: bars (repo x severity)")
        eq(b.js("return document.querySelectorAll('#chart-family .bar').length"),
           len({(family(r["rule"]), r["severity"]) for r in rows}), "family chart: bars (family x severity)")
        got = b.js("""var o = {}; document.querySelectorAll('#chart-family .bar').forEach(function (e) {
                        o[e.dataset.series + ' ' + document.querySelector('#f-family option[value=\"' + e.dataset.key + '\"]').textContent] = +e.dataset.n; });
                      return o;""")
        want = {}
        for r in rows:
            k = r["severity"] + " " + family(r["rule"])
            want[k] = want.get(k, 0) + 1
        eq(got, want, "family chart: each bar's count")

        # filters
        select(b, "#f-sev", 4)
        eq(count(b), sum(r["severity"] == "critical" for r in rows), "filter: critical")
        eq(nrows(b), count(b), "filter: rows rendered = count")
        clear(b)
        select(b, "#f-sev", 3)
        eq(count(b), sum(r["severity"] in ("critical", "high") for r in rows), "filter: high and above")
        clear(b)
        target = rows[len(rows) // 2]
        b.type("#q", target["id"].lower())
        settle(b)
        eq(count(b), 1, "filter text: a finding id")
        eq(b.js("return document.querySelector('#rows .row').dataset.id"), target["id"], "filter text: that finding")
        clear(b)
        eq(count(b), N, "clear filters")
        # a chart bar filters the table
        bar = b.js("var e = document.querySelector('#chart-family .bar'); return [e.dataset.key, e.dataset.series];")
        fam = b.js("return document.querySelector('#f-family option[value=\"%s\"]').textContent" % bar[0])
        b.click("#chart-family .bar")
        settle(b)
        eq(count(b), sum(family(r["rule"]) == fam and SEV.index(r["severity"]) >= SEV.index(bar[1]) for r in rows),
           "clicking the family bar %s/%s" % (fam, bar[1]))
        clear(b)
        b.click("#chart-status .bar")
        settle(b)
        st = b.js("return document.querySelector('#chart-status .bar').dataset.series")
        eq(count(b), sum(r.get("status", "open") == st for r in rows), "clicking the status bar " + st)
        clear(b)
        b.click('#chart-time .bar')
        settle(b)
        key = b.js("return document.querySelector('#chart-time .bar').dataset.key")
        eq(count(b), sum(month(r) == key for r in rows), "clicking the time bar " + key)
        clear(b)

        # kinds: secrets and threat indicators, filtered apart and marked
        for kind in ("indicator", "secret"):
            select(b, "#f-kind", kind)
            eq(count(b), sum(r["kind"] == kind for r in rows), "filter by kind " + kind)
            eq(b.js("return document.querySelectorAll('#rows .row.indicator .kind').length"),
               count(b) if kind == "indicator" else 0, "rows marked as indicators (%s)" % kind)
        select(b, "#f-kind", "indicator")
        b.click("#rows .row")
        settle(b)
        fid = b.js("return document.querySelector('#rows .row').dataset.id")
        r = next(r for r in rows if r["id"] == fid)
        dl = b.js("var o = {}; document.querySelectorAll('#detail dt').forEach(function (e) { o[e.textContent] = e.nextSibling.textContent; }); return o;")
        eq([dl.get("Kind"), dl.get("Matched"), dl.get("Secret")], ["threat indicator", r["preview"], None],
           "detail of an indicator: its kind and matched text")
        clear(b)

        # sorting
        dates = sorted(r["introduced"][:10] for r in rows)
        b.click('.thead [data-k="date"]')
        settle(b)
        eq(b.js("return document.querySelector('#rows .row').children[4].textContent"), dates[-1], "sort by date: newest first")
        b.click('.thead [data-k="date"]')
        settle(b)
        eq(b.js("return document.querySelector('#rows .row').children[4].textContent"), dates[0], "sort again: oldest first")
        b.click('.thead [data-k="sev"]')
        settle(b)
        top = max(SEV.index(r["severity"]) for r in rows)
        eq(b.js("return document.querySelector('#rows .row .sev').textContent"), SEV[top], "sort by severity: most severe first")

        # the detail view holds the finding's provenance
        b.click("#rows .row")
        settle(b)
        fid = b.js("return document.querySelector('#rows .row').dataset.id")
        r = next(r for r in rows if r["id"] == fid)
        o = min(r["occurrences"], key=lambda o: o.get("date") or "~")
        dl = b.js("var o = {}; document.querySelectorAll('#detail dt').forEach(function (e) { o[e.textContent] = e.nextSibling.textContent; }); return o;")
        eq(dl.get("Finding id"), fid, "detail: id")
        eq(dl.get("Commit"), o.get("commit")[:12], "detail: introducing commit (12 hex digits)")
        eq(dl.get("Path"), "%s:%d" % (o["path"], o["line"]), "detail: introducing path and line")
        eq(dl.get("Author"), o.get("author_email"), "detail: author")

        layout(b, out, 1280, 900)
        layout(b, out, 420, 900)
        errors(b, "after every interaction")
    return FAILED


def scale(html, db, out):
    con = sqlite3.connect(db)
    N = con.execute("SELECT count(*) FROM findings").fetchone()[0]
    fams = {}
    for rule, n in con.execute("SELECT rule_id, count(*) FROM findings GROUP BY rule_id"):
        fams[family(rule)] = fams.get(family(rule), 0) + n
    con.close()
    with Browser() as b:
        t = time.time()
        b.open(html)
        b.wait("return document.body.dataset.ready === '1'", timeout=120)
        load = time.time() - t
        render = int(b.js("return document.body.dataset.renderMs"))
        print("info: %d findings, page loaded in %.2f s, script ran %d ms" % (N, load, render))
        check(render < 8000, "the page's script runs within 8 s (%d ms)" % render)
        errors(b, "after loading")
        eq(count(b), N, "count of findings shown")
        check(nrows(b) <= 80, "only the rows in view are rendered (%d)" % nrows(b))
        b.click('.thead [data-k="rule"]')
        settle(b)
        ms = int(b.js("return document.body.dataset.applyMs"))
        print("info: sorting %d findings took %d ms" % (N, ms))
        check(ms < 2000, "sorting within 2 s (%d ms)" % ms)
        fam = max(fams, key=lambda k: (fams[k], k))
        val = b.js("var v = ''; document.querySelectorAll('#f-family option').forEach(function (o) { if (o.textContent === arguments[0]) v = o.value; }); return v;".replace("arguments[0]", json.dumps(fam)))
        select(b, "#f-family", val)
        ms = int(b.js("return document.body.dataset.applyMs"))
        print("info: filtering took %d ms" % ms)
        eq(count(b), fams[fam], "filter by family %s" % fam)
        check(ms < 2000, "filtering within 2 s (%d ms)" % ms)
        b.type("#q", "config/")
        settle(b)
        check(0 < count(b) < fams[fam], "text filter narrows the family (%d)" % count(b))
        clear(b)
        b.js("var v = document.getElementById('viewport'); v.scrollTop = v.scrollHeight;")
        time.sleep(0.3)
        last = b.js("var r = document.querySelectorAll('#rows .row'); return [r.length, +document.getElementById('rows').style.top.replace('px', '')];")
        check(last[0] <= 80 and last[1] > 0, "scrolled to the end: rows %d at %dpx" % (last[0], last[1]))
        layout(b, out, 1280, 900)
        errors(b, "after every interaction")
    return FAILED


def broken(html, _data, _out):
    """A page whose deflated data cannot be read: a message, no crash."""
    with Browser() as b:
        b.open(html)
        b.wait("return !!document.body.dataset.ready", timeout=60)
        eq(b.js("return document.body.dataset.ready"), "error", "the page says it could not read its data")
        msg = b.js("var e = document.getElementById('data-error'); return e ? e.textContent : ''")
        check(msg.startswith("This browser cannot read the report's data"), "the message is shown (%r)" % msg[:80])
        eq(nrows(b), 0, "no rows drawn")
        bad = [m for lvl, m in b.console() if lvl == "SEVERE" and "Uncaught" in m]
        eq(bad, [], "no uncaught exception")
    return FAILED


if __name__ == "__main__":
    mode, html, data, out = sys.argv[1:5]
    sys.exit(1 if {"small": small, "scale": scale, "broken": broken}[mode](html, data, out) else 0)
