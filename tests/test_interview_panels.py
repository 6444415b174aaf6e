"""The interview result page shows the panels that the tenant's enabled plugins contribute."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from markupsafe import escape

from mendan.app import create_app
from core.hookspecs import hookimpl
from core.interviews.panels import Panel
from core.plugins import PluginMeta
from tests.conftest import HTML, login
from tests.interview_fixtures import make_interview


class WordCount:
    def __init__(self, folder) -> None:
        self.folder = folder

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="word_count", name_ja="単語数", name_en="Word count", version="1", kind="option",
                          hours="batch")

    @hookimpl
    def mendan_template_dirs(self):
        return [str(self.folder)]

    @hookimpl
    async def mendan_interview_panels(self, tenant, interview):
        return [Panel(title_ja="単語数", title_en="Word count", template="word_count/panel.html",
                      context={"words": 42}, order=2),
                Panel(title_ja="要約", title_en="Summary", html=f"<p>{escape('<b>ok</b>')}</p>", order=1)]


async def test_enabled_plugins_fill_the_result_page_and_others_do_not(app, settings, host, make_tenant, make_user,
                                                                       tmp_path):
    (tmp_path / "word_count").mkdir()
    (tmp_path / "word_count" / "panel.html").write_text("<p class='wc'>{{ words }} / {{ interview.kind }}</p>")
    host.register(WordCount(tmp_path), key="word_count")
    app = create_app(settings, host=host)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        on, off = await make_tenant(), await make_tenant()
        await host.set_enabled(on.id, "word_count", True)
        for tenant, shown in ((on, True), (off, False)):
            setup = await make_interview(tenant, make_user)
            await login(client, tenant, setup["admin"])
            page = (await client.get(f"/t/{tenant.slug}/interviews/{setup['interview'].id}", headers=HTML)).text
            assert ("<p class='wc'>42 / live</p>" in page) is shown
            assert ("&lt;b&gt;ok&lt;/b&gt;" in page) is shown
            if shown:
                assert page.index("要約") < page.index("単語数")  # by order
