"""In Debian's chromium: an option appears for a tenant user when an operator switches it
on in the console, and disappears when it is switched off, without a restart."""


import pytest
from litestar import get

from core.hookspecs import hookimpl
from core.plugins import NavItem, PluginMeta
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

@get("/")
async def hello_page() -> str:
    return "hello from the greeting option"


class Greeting:
    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="greeting_x", name_ja="あいさつ", name_en="Greeting", version="1", kind="option",
                          hours="interactive")

    @hookimpl
    def mendan_route_handlers(self):
        return [hello_page]

    @hookimpl
    def mendan_nav_items(self, tenant, user):
        return [NavItem(path="greeting_x/", label_ja="あいさつ", label_en="Greeting", order=50)]


@pytest.fixture
def greeting(host):
    host.register(Greeting(), key="greeting_x")


async def _sign_in(browser, url: str, email: str):
    context = await browser.new_context(locale="ja-JP")
    page = await context.new_page()
    await page.goto(url)
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("form.card button[type=submit]")
    await page.wait_for_load_state()
    return page


async def test_an_option_appears_and_disappears_as_the_operator_switches_it(
    greeting, live_server, browser, make_tenant, make_user
):
    server = live_server
    tenant = await make_tenant()
    member = await make_user(tenant, "interviewer")
    operator = await make_user(None, "operator")
    option_link = 'nav.main-nav a:text-is("あいさつ")'
    switch = 'button[data-option="greeting_x"]'
    user_page = await _sign_in(browser, f"{server}/t/{tenant.slug}/login", member.email)
    assert user_page.url.endswith(f"/t/{tenant.slug}/")
    assert await user_page.locator(option_link).count() == 0

    ops_page = await _sign_in(browser, f"{server}/login", operator.email)
    await ops_page.goto(f"{server}/ops/tenants/{tenant.slug}")
    await ops_page.click(switch)
    await ops_page.wait_for_load_state()
    assert await ops_page.locator(switch).inner_text() == "無効にする"

    await user_page.reload()
    await user_page.click(option_link)
    await user_page.wait_for_url(f"{server}/t/{tenant.slug}/greeting_x/")
    assert "hello from the greeting option" in await user_page.content()

    await ops_page.click(switch)
    await ops_page.wait_for_load_state()
    assert await ops_page.locator(switch).inner_text() == "有効にする"

    await user_page.goto(f"{server}/t/{tenant.slug}/")
    assert await user_page.locator(option_link).count() == 0
    response = await user_page.goto(f"{server}/t/{tenant.slug}/greeting_x/")
    assert response.status == 404
