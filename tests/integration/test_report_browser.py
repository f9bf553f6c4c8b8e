"""The HTML report in a real browser: headless Chromium draws its charts, logs no error,
and fetches nothing.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
it reads commands on fd 3 and writes replies and events on fd 4, each message a JSON
text ended by a NUL byte), so the test needs no port, no websocket client and no
extra package. Over it the test sees what ``--dump-dom`` and stderr cannot:
uncaught exceptions (``Runtime.exceptionThrown``), console errors
(``Runtime.consoleAPICalled``), browser-side errors such as a failed load or a
Content-Security-Policy refusal (``Log.entryAdded``), every request the page makes
(``Network.requestWillBeSent``), and the laid-out size of each chart.
(``--enable-logging=stderr --v=0`` prints ``console.error`` and uncaught exceptions
alike as ``INFO:CONSOLE`` lines among D-Bus noise, and never a failed load.)

Chromium is Debian's (``scripts/ensure-chromium`` installs it). Without it the
tests are skipped with the reason, except in CI (``CI`` set), where they fail.

Also a tool: ``python tests/integration/test_report_browser.py --screenshot OUT.png
FILE...`` writes the report of FILE... and a screenshot of its top (docs/report.png).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbbench.output.report import write_report

DATA = Path(__file__).resolve().parent.parent / "data" / "results"

#: what this machine's documentation asks of a headless Chromium: no sandbox (root), no GPU,
#: and no background connections (the network is closed; they would fail noisily)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    # should the page ask for any host, the lookup fails here and never leaves the machine
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


class BrowserError(Exception):
    pass


class Browser:
    """Headless Chromium, spoken to over the DevTools protocol on a pipe."""

    def __init__(self, executable: str, profile: Path, log: Path) -> None:
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def onto_fds_3_and_4() -> None:  # in the child, between fork and exec
            # copies above 4 first: a pipe end may itself be fd 3 or 4, and dup2 onto
            # its own number would neither move it nor clear its close-on-exec flag
            read_end = fcntl.fcntl(to_browser_read, fcntl.F_DUPFD, 5)
            write_end = fcntl.fcntl(from_browser_write, fcntl.F_DUPFD, 5)
            os.dup2(read_end, 3)  # inheritable, as os.dup2 makes them
            os.dup2(write_end, 4)

        with open(log, "wb") as stderr:
            self._process = subprocess.Popen(
                [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
                + ["--remote-debugging-pipe", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                # the only way onto fixed fd numbers (a shell's redirections stop at fd 9)
                preexec_fn=onto_fds_3_and_4,
                close_fds=False,  # Python's own fds are close-on-exec anyway
            )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.log = log
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    @classmethod
    @contextlib.contextmanager
    def launch(cls, executable: str) -> Iterator[Browser]:
        with tempfile.TemporaryDirectory(prefix="dbbench-chromium-") as directory:
            browser = cls(executable, Path(directory) / "profile", Path(directory) / "stderr.log")
            try:
                browser.call("Browser.getVersion")
                yield browser
            finally:
                browser.close()

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self._send("Browser.close", {}, None)
                self._process.wait(timeout=10)
            except (BrowserError, OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _send(self, method: str, params: dict[str, Any], session: str | None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise BrowserError(f"chromium is gone; {self._stderr_tail()}") from None
        return self._next_id

    def _stderr_tail(self) -> str:
        self._process.poll()
        text = self.log.read_text(errors="replace")[-3000:]
        return f"exit status {self._process.returncode}, its stderr ends:\n{text}"

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(remaining, 0))
            if not ready:
                raise BrowserError(f"no answer from chromium in time; its stderr: {self.log}")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium closed the pipe; {self._stderr_tail()}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(
        self, method: str, params: dict | None = None, session: str | None = None, timeout_s=30
    ) -> dict[str, Any]:
        """Send a command and wait for its reply; events meanwhile go to ``events``."""
        wanted = self._send(method, params or {}, session)
        deadline = time.monotonic() + timeout_s
        while True:
            message = self._receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, session: str, timeout_s: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            message = self._receive(deadline)
            self.events.append(message)
            if message.get("method") == method and message.get("sessionId") == session:
                return message

    def open(self, url: str, width: int = 1200, height: int = 900) -> Page:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.call(f"{domain}.enable", session=session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", session)
        page = Page(self, session, url)
        # two frames and a moment: anything the page does after load is logged by then
        page.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 100)))")
        return page


class Page:
    def __init__(self, browser: Browser, session: str, url: str) -> None:
        self.browser, self.session, self.url = browser, session, url

    def evaluate(self, expression: str) -> Any:
        reply = self.browser.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression[:60]}...: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def problems(self) -> list[str]:
        """Uncaught exceptions, console errors, browser errors and requests for anything
        but the page itself, as lines."""
        found = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                found.append(f"uncaught exception: {text}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                text = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                found.append(f"console.{params['type']}: {text}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                found.append(f"browser error ({entry['source']}): {entry['text']}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if url != self.url:
                    found.append(f"request: {url}")
        return found

    def screenshot(self, path: Path, height: int | None = None) -> None:
        """A PNG of the page from its top: ``height`` CSS pixels, or all of it."""
        # a tab in the background draws no frames, and captureScreenshot waits for one:
        # the tests opened after this page have put it behind theirs
        self.browser.call("Page.bringToFront", session=self.session)
        size = self.browser.call("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
        clip = {
            "x": 0,
            "y": 0,
            "width": size["width"],
            "height": min(height or size["height"], size["height"]),
            "scale": 1,
        }
        reply = self.browser.call(
            "Page.captureScreenshot",
            {"format": "png", "clip": clip, "captureBeyondViewport": True},
            session=self.session,
        )
        path.write_bytes(base64.b64decode(reply["data"]))


def find_chromium() -> str | None:
    """$DBBENCH_CHROMIUM, else Debian's chromium, else another build of it on PATH."""
    names = ("chromium", "chromium-browser", "google-chrome")
    return os.environ.get("DBBENCH_CHROMIUM") or next(filter(None, map(shutil.which, names)), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        reason = "chromium is not installed (scripts/ensure-chromium installs Debian's)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}; CI must run the browser tests")
        pytest.skip(reason)
    with Browser.launch(executable) as launched:
        yield launched


@pytest.fixture(scope="module")
def report_page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Page:
    output = tmp_path_factory.mktemp("report") / "report.html"
    names = ("run.json", "run2.json", "sweep.json", "stale.json")
    write_report([DATA / name for name in names], output)
    return browser.open(output.as_uri())


#: per chart: its laid-out size; its paths; those with a non-empty box; its plotted
#: lines; <use> references (glyphs, markers) whose target the page lacks
MEASURE_CHARTS = """
[...document.querySelectorAll('figure svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  const paths = [...svg.querySelectorAll('path')];
  const uses = [...svg.querySelectorAll('use')];
  const target = u => (u.getAttribute('xlink:href') || u.getAttribute('href')).slice(1);
  return {
    id: svg.id, width: box.width, height: box.height, paths: paths.length,
    drawn: paths.filter(p => { const b = p.getBBox(); return b.width > 0 || b.height > 0; }).length,
    lines: svg.querySelectorAll('g[id*="line2d"] path').length,
    uses: uses.length,
    unresolved: uses.filter(u => !document.getElementById(target(u))).map(target),
  };
})
"""


def test_the_charts_are_drawn(report_page: Page) -> None:
    charts = report_page.evaluate(MEASURE_CHARTS)
    # all runs overlaid, one CDF per run file (2), the sweep against concurrency and pool size
    assert [c["id"] for c in charts] == ["chart1", "chart2", "chart3", "chart4", "chart5"]
    for chart in charts:
        assert chart["width"] > 400 and chart["height"] > 200, chart
        assert chart["drawn"] > 20 and chart["drawn"] >= 0.8 * chart["paths"], chart
        assert chart["uses"] > 50 and chart["unresolved"] == [], chart
    # run.json has 4 runners, run2.json 3: a curve each, plus ticks and grid lines
    assert charts[0]["lines"] >= 7 and charts[1]["lines"] >= 4


def test_the_page_logs_no_error_and_fetches_nothing(report_page: Page) -> None:
    assert report_page.problems() == []
    assert report_page.evaluate("document.title").startswith("dbbench report: run.json")
    tables = report_page.evaluate("document.querySelectorAll('table').length")
    assert tables >= 10


def test_the_detector_sees_errors_and_requests(browser: Browser, tmp_path: Path) -> None:
    """The checks above would pass on a broken page if the detector saw nothing."""
    page_file = tmp_path / "broken.html"
    page_file.write_text(
        "<!DOCTYPE html><html><head><title>broken</title></head><body>"
        '<script>console.error("deliberate console error")</script>'
        '<script>throw new Error("deliberate uncaught error")</script>'
        '<img src="https://example.invalid/deliberate.png" alt="">'
        "</body></html>"
    )
    problems = browser.open(page_file.as_uri()).problems()
    assert "console.error: deliberate console error" in problems
    assert any("uncaught exception: Error: deliberate uncaught error" in p for p in problems)
    assert "request: https://example.invalid/deliberate.png" in problems
    assert any("browser error (network)" in p for p in problems), problems


def test_the_page_policy_refuses_any_fetch(browser: Browser, tmp_path: Path) -> None:
    """Should a later change add an external image, the page's own CSP blocks it, loudly."""
    output = tmp_path / "report.html"
    write_report([DATA / "run.json"], output)
    text = output.read_text().replace(
        "</footer>", '</footer><img src="https://example.invalid/tracker.png" alt="">'
    )
    output.write_text(text)
    problems = browser.open(output.as_uri()).problems()
    assert any("Content Security Policy" in p for p in problems), problems


def test_a_screenshot_of_the_report(report_page: Page, tmp_path: Path) -> None:
    path = tmp_path / "report.png"
    report_page.screenshot(path, height=1500)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 50_000


def main(argv: list[str]) -> int:
    """``--screenshot OUT.png FILE...``: the report of FILE..., photographed from its top."""
    if len(argv) < 3 or argv[0] != "--screenshot":
        print(__doc__.split("\n\n")[-1].strip(), file=sys.stderr)
        return 2
    output, files = Path(argv[1]), [Path(name) for name in argv[2:]]
    executable = find_chromium()
    if executable is None:
        print("chromium is not installed: scripts/ensure-chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as directory, Browser.launch(executable) as browser:
        report = Path(directory) / "report.html"
        write_report(files, report)
        page = browser.open(report.as_uri(), width=1100, height=900)
        if page.problems():
            print("\n".join(page.problems()), file=sys.stderr)
            return 1
        page.screenshot(output, height=1150)  # the first run: its CDF and its tables
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
