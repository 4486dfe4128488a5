"""Browser tests: Debian's Chromium (headless, through Playwright) against the real app.

The app runs as users run it: `python -m pricewatch web` and `python -m pricewatch worker` as
processes of their own on a temporary data directory (SQLite, the embedded Huey queue); the
admin account is made on the first-start page (/setup) in the browser, as a new user does. The
pages scrape a demo shop served by this process on 127.0.0.1 (allow-listed with
PW_FETCH_ALLOW_HOSTS), on a clock the tests move.

A failing test leaves a screenshot of its page in test-artifacts/screenshots/<test>.png.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from pricewatch.demo import DemoShop, ManualClock, ShopOptions, running_demo_shop

CHROMIUM = Path("/usr/bin/chromium")
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
ADMIN = "admin"
PASSWORD = "browser tests password"
#: Seconds a process may take to answer its first request.
START_TIMEOUT = 30.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here needs the browser."""
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can tell whether it failed."""
    outcome: Any = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


# --- the app's processes -----------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class AppServer:
    """The web process (and optionally a worker) on one data directory."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment of the app's processes: our data dir, the demo shop allowed."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PW_")}
        env.update(
            PW_DATA_DIR=str(self.data_dir),
            PW_FETCH_ALLOW_HOSTS="127.0.0.1",
            PW_LOG_LEVEL="warning",
            PW_BROWSER_MODE="never",
        )
        return env

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start a long-running `python -m pricewatch` process."""
        log = (self.data_dir / f"{args[0]}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "pricewatch", *args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    def start_web(self) -> None:
        """Start the web process and wait until /health answers."""
        process = self.start("web", "--port", str(self.port))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the web process exited: {self.log('web')}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code in (200, 503):
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"the web process did not answer within {START_TIMEOUT} s")

    def log(self, name: str) -> str:
        path = self.data_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM every process, then SIGKILL what is still there after 10 s."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; skipped when absent, except on CI where it must be there."""
    if not CHROMIUM.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required on CI but {CHROMIUM} does not exist")
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt install chromium)")
    return CHROMIUM


@pytest.fixture(scope="package")
def shop_clock() -> ManualClock:
    """The clock of the browser tests' demo shop: prices move when a test advances it."""
    return ManualClock()


@pytest.fixture(scope="package")
def shop(shop_clock: ManualClock) -> Iterator[DemoShop]:
    """A demo shop of this test session, on 127.0.0.1, its /slow pages 3 s by default."""
    options = ShopOptions(slow_default_seconds=3.0)
    with running_demo_shop(host="127.0.0.1", seed=77, clock=shop_clock, options=options) as shop:
        yield shop


@pytest.fixture(scope="package")
def app_server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The web process and a worker (4 jobs at once) on a fresh data directory."""
    server = AppServer(tmp_path_factory.mktemp("pricewatch-data"))
    try:
        server.start_web()
        server.start("worker", "--workers", "4")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def admin(app_server: AppServer, browser: Browser) -> str:
    """The admin account, made on the first-start page: the first visit lands there, and
    creating the account logs in and shows the empty dashboard."""
    context = browser.new_context(base_url=app_server.url)
    page = context.new_page()
    try:
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/setup"))
        page.get_by_label("Username").fill(ADMIN)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label(re.compile("again|repeat|confirm", re.I)).fill(PASSWORD)
        page.get_by_role("button", name=re.compile("Create")).click()
        expect(page.get_by_role("heading", name="Track your first product")).to_be_visible()
        expect(page.get_by_role("button", name=f"Log out {ADMIN}")).to_be_visible()
    except Exception:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "setup.png"), full_page=True)
        raise
    finally:
        context.close()
    return ADMIN


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API, for this package only: while it runs, the main thread has a
    running event loop, and tests elsewhere that call asyncio.run() would fail."""
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright, chromium: Path) -> Iterator[Browser]:
    """Headless Chromium (Debian's; its sandbox needs privileges containers lack)."""
    browser = playwright.chromium.launch(
        executable_path=str(chromium), headless=True, args=["--no-sandbox"]
    )
    yield browser
    browser.close()


@dataclass
class Console:
    """JavaScript errors and failed requests a page reported (CSP violations show here)."""

    errors: list[str] = field(default_factory=list)

    def on_message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


def screenshot_name(node: pytest.Item) -> str:
    return re.sub(r"[^\w.-]+", "_", node.name) + ".png"


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page_factory(
    browser: Browser, request: pytest.FixtureRequest, console: Console
) -> Iterator[Callable[[str], Page]]:
    """Opens pages on a server (one browser context per test); screenshots them on failure."""
    pages: list[Page] = []
    contexts = []

    def open_page(base_url: str) -> Page:
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", console.on_message)
        page.on("pageerror", lambda error: console.errors.append(str(error)))
        pages.append(page)
        return page

    yield open_page
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(pages):
            suffix = f"-{n}" if n else ""
            path = SCREENSHOTS / screenshot_name(request.node).replace(".png", f"{suffix}.png")
            page.screenshot(path=str(path), full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def page(page_factory: Callable[[str], Page], app_server: AppServer, admin: str) -> Page:
    """A page of the app, logged in as the admin."""
    page = page_factory(app_server.url)
    log_in(page)
    return page


def log_in(page: Page, username: str = ADMIN, password: str = PASSWORD) -> None:
    """Log in through the login page; ends on the dashboard."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/(\?.*)?$"))
