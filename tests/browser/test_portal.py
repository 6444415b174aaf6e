"""The demo as a person sees it, in Debian's chromium: `mendan demo` and `mendan serve` run as
processes, the demo admin signs in, reads Japanese, switches to English and opens a plugin's
page from the navigation. The example plugin, installed for the tests, shows no tab in the demo.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest

from mendan.cli import DEMO_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromium") is None,
                       reason="Debian's chromium is not installed (apt-get install -y chromium)"),
]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MENDAN = [sys.executable, "-c", "from mendan.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """The demo tenant served by `mendan serve` on a free port, over a fresh data folder."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MENDAN_DATA_DIR": str(tmp_path_factory.mktemp("portal")), "MENDAN_BASE_URL": base}
    for name in ("DATABASE_URL", "BROKER_URL", "MENDAN_ENV"):
        env.pop(name, None)
    demo = subprocess.run([*MENDAN, "demo", "--interviews", "0"], env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert f"{base}/t/demo/login" in demo.stdout

    log = (ARTIFACTS / "portal-server.log")
    ARTIFACTS.mkdir(exist_ok=True)
    with log.open("w") as out:
        server = subprocess.Popen([*MENDAN, "serve", "--port", str(port)], env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, f"mendan serve exited; see {log}"
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "mendan serve did not answer /healthz within 60 s"
                time.sleep(0.3)
            yield base
        finally:
            server.terminate()
            server.wait(20)


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def test_the_example_plugin_is_installed():
    """The test environment has `examples/mendan-hello` (scripts/test.sh installs it), so the
    portal test below proves that the demo keeps it switched off."""
    assert "hello" in {e.name for e in entry_points(group="mendan.plugins")}


async def test_demo_admin_signs_in_reads_japanese_switches_to_english_and_opens_a_plugin(portal, browser):
    context = await browser.new_context(locale="ja-JP")
    page = await context.new_page()

    await page.goto(f"{portal}/t/demo/login")
    assert await page.get_attribute("html", "lang") == "ja"
    assert "ログイン" in await page.locator("h1").inner_text()
    await page.get_by_label("メールアドレス").fill("admin@demo.example")
    await page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    await page.screenshot(path=ARTIFACTS / "portal-1-login-ja.png", full_page=True)
    await page.get_by_role("button", name="ログイン").click()
    await page.wait_for_url(f"{portal}/t/demo/")

    nav = page.get_by_role("navigation", name="メインメニュー")
    assert await nav.get_by_role("link", name="ホーム").get_attribute("aria-current") == "page"
    assert await nav.get_by_role("link", name="こんにちは").count() == 0  # the example plugin is not the product
    assert await nav.get_by_role("link", name="AIモデル").count() == 1
    assert "管理者" in await page.locator("main").inner_text()
    await page.screenshot(path=ARTIFACTS / "portal-2-home-ja.png", full_page=True)

    await page.get_by_role("navigation", name="言語").get_by_role("link", name="English").click()
    await page.wait_for_url(f"{portal}/t/demo/")
    assert await page.get_attribute("html", "lang") == "en"
    nav = page.get_by_role("navigation", name="Main")
    assert await nav.get_by_role("link", name="Home").get_attribute("aria-current") == "page"
    assert await nav.get_by_role("link", name="Jobs").count() == 1
    assert await page.get_by_role("button", name="Sign out").count() == 1
    await page.screenshot(path=ARTIFACTS / "portal-3-home-en.png", full_page=True)

    assert await nav.get_by_role("link", name="Hello").count() == 0
    await nav.get_by_role("link", name="AI models").click()
    await page.wait_for_url(f"{portal}/t/demo/ai_model/")
    assert await page.get_by_role("navigation", name="Main").get_by_role("link", name="AI models").get_attribute(
        "aria-current") == "page"
    hello = await page.goto(f"{portal}/t/demo/hello/")
    assert hello.status == 404
    await page.screenshot(path=ARTIFACTS / "portal-4-plugin-en.png", full_page=True)
    await context.close()


async def test_the_pages_fit_a_phone_screen(portal, browser):
    context = await browser.new_context(locale="ja-JP", viewport={"width": 375, "height": 740}, is_mobile=True,
                                        has_touch=True)
    page = await context.new_page()
    await page.goto(f"{portal}/t/demo/login")
    await page.get_by_label("メールアドレス").fill("interviewer@demo.example")
    await page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="ログイン").click()
    await page.wait_for_url(f"{portal}/t/demo/")
    for path in ("/t/demo/", "/t/demo/jobs", "/t/demo/tokens"):
        await page.goto(portal + path)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone screen"
    await page.screenshot(path=ARTIFACTS / "portal-5-phone-ja.png", full_page=True)

    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "本文へ移動"
    await context.close()
