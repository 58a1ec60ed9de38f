#!/usr/bin/env python3
"""Open a local HTML page in headless Chromium and report what the review-page tests assert.

Usage: browser-check.py PAGE.html|http://127.0.0.1:PORT/… --eval FILE.js [--screenshot OUT.png] [--timeout 20] [--chromium PATH]

Loads PAGE.html as a file:// URL (or a page served on loopback) in a 1280x800 viewport, waits until every <video> has metadata
or an error, evaluates the JavaScript expression in FILE.js (awaiting a promise) and prints one
JSON object: result, console_errors, exceptions, log_errors, failed_loads, waited_seconds.
Speaks the Chrome DevTools Protocol via `websocket-client`. Exit 0 when the check ran (whatever
the page shows); exit 2, with one line on stderr, when Chromium or the page failed.
"""
import argparse
import base64
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

WIDTH, HEIGHT = 1280, 800
VIDEOS_SETTLED = ("Array.from(document.querySelectorAll('video'))"
                  ".every(v => v.readyState >= 1 || v.error !== null)")


class Fail(Exception):
    """The browser or the page could not be used (exit status 2)."""


class Page:
    """A CDP session on one page target; collects errors from the events it sees."""

    def __init__(self, ws_url, timeout):
        self.ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.seen = set()
        self.urls = {}
        self.report = {"console_errors": [], "exceptions": [], "log_errors": [], "failed_loads": []}

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        msg = self.read_until(lambda m: m.get("id") == self.next_id, method)
        if "error" in msg:
            raise Fail(f"{method}: {msg['error'].get('message')}")
        return msg.get("result", {})

    def read_until(self, done, what):
        """Handle incoming messages until done(message); returns that message."""
        msg = {}
        while not done(msg):
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                raise Fail(f"timed out waiting for {what}") from None
            if "method" in msg:
                self.seen.add(msg["method"])
                self.on_event(msg["method"], msg.get("params", {}))
        return msg

    def on_event(self, method, p):
        r = self.report
        if method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            r["console_errors"].append(" ".join(remote_text(a) for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            r["exceptions"].append(exception_text(p["exceptionDetails"]))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            e = p["entry"]
            r["log_errors"].append(e["text"] + (f" ({e['url']})" if e.get("url") else ""))
        elif method == "Network.requestWillBeSent":
            self.urls[p["requestId"]] = p["request"]["url"]
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            # canceled: Chromium dropped the request itself (a preload="metadata" fetch does)
            error = p["errorText"] or p.get("blockedReason", "")
            r["failed_loads"].append({"url": self.urls.get(p["requestId"], ""), "error": error})

    def evaluate(self, expression, timeout):
        self.ws.settimeout(timeout)
        reply = self.call("Runtime.evaluate", expression=expression,
                          returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            self.report["exceptions"].append(exception_text(reply["exceptionDetails"]))
            return None
        return reply["result"].get("value")


def remote_text(obj):
    if "value" in obj:
        return obj["value"] if isinstance(obj["value"], str) else json.dumps(obj["value"])
    return obj.get("description") or obj.get("unserializableValue") or obj.get("type", "")


def exception_text(details):
    exc = details.get("exception") or {}
    return exc.get("description") or details.get("text", "exception")


def launch(chromium, tmp):
    # Become a subreaper: Chromium's orphaned helpers are adopted and reaped by stop(),
    # since PID 1 (e.g. in a container) may never reap them.
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    args = [chromium, "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
            f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-port=0",
            f"--user-data-dir={os.path.join(tmp, 'profile')}", "about:blank"]
    with open(os.path.join(tmp, "chromium.log"), "wb") as log:
        try:
            # Its temporary files (org.chromium.Chromium.*) go where the profile goes, removed after.
            return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True, env=dict(os.environ, TMPDIR=tmp))
        except OSError as e:
            raise Fail(f"cannot start {chromium}: {e}") from None


def page_ws_url(proc, tmp):
    port_file = os.path.join(tmp, "profile", "DevToolsActivePort")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Fail(f"chromium exited with status {proc.returncode}: {last_line(tmp)}")
        try:
            with open(port_file) as f:
                port = int(f.readline())
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                targets = json.load(r)
            return next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        except (OSError, ValueError, StopIteration):
            time.sleep(0.1)
    raise Fail(f"chromium gave no DevTools page target within 15 s: {last_line(tmp)}")


def last_line(tmp):
    with open(os.path.join(tmp, "chromium.log"), errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
    return lines[-1] if lines else "(no output)"


def stop(proc):
    """Let Chromium shut down its helpers, then kill whatever is left of its process group."""
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # reap adopted helpers until none is left
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.05)
        except ChildProcessError:
            break


def check(page, args, expression):
    for domain in ("Runtime", "Log", "Page", "Network"):
        page.call(f"{domain}.enable")
    page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
              deviceScaleFactor=1, mobile=False)
    start = time.monotonic()
    deadline = start + args.timeout
    page.seen.clear()
    url = args.page if is_served(args.page) else "file://" + os.path.abspath(args.page)
    nav = page.call("Page.navigate", url=url)
    if nav.get("errorText"):
        raise Fail(f"cannot load {args.page}: {nav['errorText']}")
    page.ws.settimeout(max(0.05, deadline - time.monotonic()))
    page.read_until(lambda m: "Page.loadEventFired" in page.seen, "the page's load event")
    while not page.evaluate(VIDEOS_SETTLED, args.timeout) and time.monotonic() < deadline:
        time.sleep(0.1)
    waited = time.monotonic() - start
    result = page.evaluate(expression, args.timeout)
    if args.screenshot:
        shot = page.call("Page.captureScreenshot", format="png")
        with open(args.screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    return {"result": result, **page.report, "waited_seconds": round(waited, 3)}


def is_served(page):
    """A page on this machine's loopback (`review --serve`), not a file."""
    return page.startswith("http://127.0.0.1:")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("page")
    ap.add_argument("--eval", required=True, help="file holding a JavaScript expression")
    ap.add_argument("--screenshot", help="write a PNG of the viewport here")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="browser-check-")
    proc = page = None
    try:
        with open(args.eval) as f:
            expression = f.read()
        if not is_served(args.page) and not os.path.isfile(args.page):
            raise Fail(f"no such page: {args.page}")
        proc = launch(args.chromium, tmp)
        page = Page(page_ws_url(proc, tmp), args.timeout)
        report = check(page, args, expression)
    except (Fail, websocket.WebSocketException, OSError) as e:
        print(f"browser-check: {e or type(e).__name__}", file=sys.stderr)
        return 2
    finally:
        if page:
            page.ws.close()
        if proc:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
