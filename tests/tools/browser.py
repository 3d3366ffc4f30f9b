"""A small W3C WebDriver client (Python standard library only) for headless
Chromium through Debian's chromedriver: enough for the HTML report's tests to
load a page, run scripts in it, click, type, resize, take screenshots and read
the browser's console log.

    with Browser() as b:
        b.open("/tmp/report.html")
        n = b.js("return document.querySelectorAll('.row').length")
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _find(names, env):
    if os.environ.get(env):
        return os.environ[env]
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    raise SystemExit("browser.py: none of %s found (scripts/install-deps.sh installs chromium and chromium-driver)" % ", ".join(names))


class WebDriverError(Exception):
    pass


class Browser:
    def __init__(self, width=1280, height=900):
        self.driver = _find(["chromedriver"], "CHROMEDRIVER")
        self.chrome = _find(["chromium", "chromium-browser", "google-chrome"], "CHROMIUM")
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="ferret-chromium-")
        self.log = open(os.path.join(self.profile, "chromedriver.log"), "w")
        self.proc = subprocess.Popen([self.driver, "--port=%d" % self.port],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.time() + 30
        while True:
            try:
                if self._req("GET", "/status")["value"].get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise SystemExit("browser.py: chromedriver did not start")
            time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--force-device-scale-factor=1", "--hide-scrollbars",
                "--user-data-dir=" + os.path.join(self.profile, "profile"),
                "--window-size=%d,%d" % (width, height)]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": self.chrome, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        self.sid = self._req("POST", "/session", caps)["value"]["sessionId"]

    def _req(self, method, path, body=None, timeout=120):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            raise WebDriverError("%s %s: %s" % (method, path, e.read().decode()[:2000]))

    def _s(self, method, path, body=None):
        return self._req(method, "/session/%s%s" % (self.sid, path), body)["value"]

    def open(self, path):
        self._s("POST", "/url", {"url": "file://" + os.path.abspath(path)})

    def js(self, script, *args):
        return self._s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait(self, script, timeout=60):
        """Waits until script returns something true; returns it."""
        deadline = time.time() + timeout
        while True:
            v = self.js(script)
            if v:
                return v
            if time.time() > deadline:
                raise WebDriverError("timed out waiting for: " + script)
            time.sleep(0.05)

    def find(self, css):
        v = self._s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(v.values()))

    def click(self, css):
        self._s("POST", "/element/%s/click" % self.find(css), {})

    def type(self, css, text):
        self._s("POST", "/element/%s/value" % self.find(css), {"text": text})

    def resize(self, width, height):
        self._s("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path):
        """Saves a PNG of the viewport; returns its (width, height)."""
        png = base64.b64decode(self._s("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
            raise WebDriverError("the screenshot is not a PNG")
        return struct.unpack(">II", png[16:24])

    def console(self):
        """The browser's console entries since the last call (level, message)."""
        for path in ("/se/log", "/log"):
            try:
                v = self._s("POST", path, {"type": "browser"})
                return [(e.get("level"), e.get("message")) for e in v]
            except WebDriverError:
                continue
        raise WebDriverError("chromedriver gives no console log")

    def close(self):
        try:
            if getattr(self, "sid", None):
                self._req("DELETE", "/session/" + self.sid, timeout=30)
        except (OSError, WebDriverError):
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
