"""In a real browser (Playwright driving Debian's Chromium), on a phone-sized screen."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from grants.demo import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"!!! {CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
        "the browser tests did NOT run !!!",
        allow_module_level=True,
    )

from playwright.async_api import async_playwright, expect  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "GRANTS_DATA_DIR": str(data_dir),
        "GRANTS_SECRET_KEY": "e2e",
        "GRANTS_SMTP_PORT": "1",
    }
    env.pop("GRANTS_DATABASE_URL", None)
    subprocess.run(
        [str(ROOT / ".venv/bin/grants"), "demo"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/grants"), "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(base, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
async def chromium():
    """Debian's Chromium, started once for the module (each test gets a fresh context)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(server, chromium):
    """A new phone-sized browser context (no cookies, no storage) on the demo server."""
    context = await chromium.new_context(viewport={"width": 375, "height": 740}, base_url=server)
    page = await context.new_page()
    yield page
    await context.close()


async def log_in(page, email: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="My applications")).to_be_visible()


async def test_an_applicant_fixes_an_error_with_the_keyboard_on_a_phone(page):
    await log_in(page, "applicant1@demo.prevention-prize.eu")
    await page.get_by_role("link", name="Continue the draft").first.click()
    title = page.get_by_label("Project title")
    await title.fill("")
    summary = page.get_by_role("textbox", name="Summary")
    await summary.fill("Three words here")
    await expect(page.locator("#summary-counter")).to_have_text("3 / 200")  # live word counter
    await page.get_by_role("button", name="Save draft").click()

    # The error summary takes the focus, names the problem and links to the field.
    summary_box = page.locator("#error-summary")
    await expect(summary_box).to_be_focused()
    await expect(summary_box).to_contain_text("Give your project a title.")
    await expect(title).to_have_attribute("aria-invalid", "true")
    await expect(summary).to_have_value("Three words here")  # what was typed is kept
    await summary_box.get_by_role("link").first.click()
    await page.keyboard.type("Peer radio")
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.get_by_role("status")).to_contain_text("Draft saved at")
    (ROOT / "var").mkdir(exist_ok=True)
    await page.screenshot(
        path=str(ROOT / "var" / "e2e-phone-form.png"), full_page=True
    )  # for a human look


async def test_the_language_switcher_works_without_a_mouse(page):
    await page.goto("/calls/epp-2027")
    await page.get_by_label("Language").select_option("fr")  # submits itself on change
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Prix européen")
    await expect(page.locator("time[data-local-time] + .local-time")).to_have_count(
        1
    )  # deadline in the visitor's zone
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the call page scrolls sideways on a phone ({width}px)"


@pytest.mark.parametrize(
    ("email", "paths"),
    [
        (
            "organiser@demo.prevention-prize.eu",
            [
                "/manage/epp-2027",
                "/manage/epp-2027/jury",
                "/manage/epp-2027/ranking",
                "/manage/epp-2027/dashboard",
                "/manage/epp-2027/audit",
            ],
        ),
        ("juror1@demo.prevention-prize.eu", ["/jury"]),
    ],
)
async def test_wide_tables_scroll_in_their_own_region_not_the_page(page, email, paths):
    await log_in(page, email)
    for path in paths:
        await page.goto(path)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
        for region in await page.locator("table").all():
            # Each table sits in a labelled region a keyboard can focus and scroll.
            wrapper = region.locator("xpath=ancestor::div[@role='region'][1]")
            await expect(wrapper).to_have_attribute("tabindex", "0")
            await expect(wrapper).to_have_attribute("aria-label", re.compile(r"\w"))
