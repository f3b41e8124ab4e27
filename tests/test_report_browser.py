"""index.html in a real headless browser (Chromium from the OS packages): it loads, its tables sort when a header
is clicked, and no image is broken.

Chromium is driven through its DevTools protocol over a websocket (`websocket-client`, the test extra); the
clicks are real mouse events at the header's position. Skips when Chromium (or websocket-client) is missing:
`apt-get install -y chromium` provides it (`.ci/run` installs it).
"""

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from test_report import data_flags, report

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",  # any free port; Chromium writes it to <user-data-dir>/DevToolsActivePort
    "--window-size=1400,1000",
]
TIMEOUT_S = 60


def chromium_binary() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


# Skip before any fixture runs (the session's smoke run would start first otherwise).
pytestmark = pytest.mark.skipif(
    chromium_binary() is None, reason="chromium is not installed (apt-get install chromium)"
)
websocket = pytest.importorskip("websocket", reason="websocket-client (the test extra) drives the browser")


class Page:
    """One browser tab, driven through the DevTools protocol."""

    def __init__(self, binary: str, profile: Path):
        self.process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._devtools_port(profile / "DevToolsActivePort")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            tab = next(t for t in json.load(answer) if t["type"] == "page")
        self.socket = websocket.create_connection(tab["webSocketDebuggerUrl"], timeout=TIMEOUT_S)
        self.next_id = 0

    def _devtools_port(self, path: Path) -> int:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            if path.exists() and path.read_text().strip():
                return int(path.read_text().split()[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self.process.returncode}")
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:  # events arrive in between; the answer carries our id
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + TIMEOUT_S
        while self.evaluate("document.readyState") != "complete":
            assert time.monotonic() < deadline, f"{url} did not finish loading"
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) at the middle of the element."""
        box = self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)}); "
            "el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect(); "
            "return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tab = Page(chromium_binary(), tmp_path_factory.mktemp("chromium-profile"))
    yield tab
    tab.close()


@pytest.fixture(scope="module")
def smoke_index(tables_smoke_run, synthetic_cifar_dir, tmp_path_factory) -> Path:
    """index.html of a report of the session's smoke run."""
    run_dir, code, out = tables_smoke_run
    assert code == 0, out
    folder = tmp_path_factory.mktemp("browser-report")
    done = report(run_dir, "--out", folder, *data_flags(synthetic_cifar_dir))
    assert done.returncode == 0, done.stderr
    return folder / "index.html"


# Text of column `col` of every data row (first row of each tbody) of the n-th sortable table.
COLUMN = """(() => Array.from(document.querySelectorAll('table.sortable')[{table}].tBodies)
    .map(b => b.rows[0].cells[{col}].textContent.trim()))()"""
HEADERS = (
    "(() => Array.from(document.querySelectorAll('table.sortable')[{table}].tHead.rows[0].cells)"
    ".map(c => c.textContent.trim()))()"
)


def table_index(page: Page, first_header: str, must_have: str) -> int:
    count = page.evaluate("document.querySelectorAll('table.sortable').length")
    for i in range(count):
        headers = page.evaluate(HEADERS.format(table=i))
        if headers[0] == first_header and must_have in headers:
            return i
    raise AssertionError(f"no sortable table with columns {first_header}, {must_have}")


def test_page_loads_with_banner_flags_and_every_image(page, smoke_index):
    page.open(smoke_index.as_uri())
    assert page.evaluate("document.title").startswith("Report:")
    assert "Not paper scale" in page.evaluate("document.getElementById('banner').textContent")
    assert "Never left chance" in page.evaluate("document.getElementById('flags').textContent")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")  # folded figures too
    images = page.evaluate(
        "(() => Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]))()"
    )
    assert len(images) >= 10
    broken = [src for src, complete, width in images if not complete or width == 0]
    assert not broken, f"broken images: {broken}"
    # every experiment row folds its figures under <details>
    assert page.evaluate("document.querySelectorAll('tr.folded details').length") >= 16


def mark(page: Page, table: int) -> str:
    """A CSS selector for the n-th sortable table (tagged for the test)."""
    page.evaluate(f"document.querySelectorAll('table.sortable')[{table}].setAttribute('data-test-table', '{table}')")
    return f"[data-test-table='{table}']"


def test_tables_sort_when_a_header_is_clicked(page, smoke_index):
    page.open(smoke_index.as_uri())
    trials = table_index(page, "experiment", "wall s")
    wall = page.evaluate(HEADERS.format(table=trials)).index("wall s")
    before = page.evaluate(COLUMN.format(table=trials, col=wall))
    header = f"{mark(page, trials)} th:nth-child({wall + 1})"
    page.click(header)
    ascending = page.evaluate(COLUMN.format(table=trials, col=wall))
    assert ascending == sorted(before, key=float)
    assert page.evaluate(f"document.querySelector({json.dumps(header)}).getAttribute('aria-sort')") == "ascending"
    page.click(header)
    assert page.evaluate(COLUMN.format(table=trials, col=wall)) == sorted(before, key=float, reverse=True)

    # a paper table sorted by experiment, descending: every row keeps its folded figures
    paper = table_index(page, "experiment", "k")
    first = f"{mark(page, paper)} th:nth-child(1)"
    page.click(first)
    page.click(first)
    labels = page.evaluate(COLUMN.format(table=paper, col=0))
    assert labels == [f"table1/{i}" for i in range(8, 0, -1)]
    folded = page.evaluate(
        f"(() => Array.from(document.querySelectorAll('table.sortable')[{paper}].tBodies)"
        ".map(b => b.rows[1].querySelector('summary').textContent))()"
    )
    assert all(f"figures of {label}" in text for label, text in zip(labels, folded))
