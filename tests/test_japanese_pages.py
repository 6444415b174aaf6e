"""Every value on a Japanese page is Japanese (issue 20): every HTML page of the assembled app, read
off `app.routes` so a page added later is read too, is asked by every role (admin, interviewer,
expert, interviewee, operator) in Japanese over a tenant with realistic data
(tests/japanese_world.py); so are the error pages (400, 403, 404, 429, 500).

What a person sees of a page (its text without scripts and styles, and the attributes that are
read or shown: title, placeholder, aria-label, alt, the value of a button) must hold none of
- the catalogue's short msgids (one to three lowercase words: states, progress messages) shown
  untranslated, and the English words the code stores and could show raw: roles, states of interviews, recordings,
  jobs, contracts, model versions, predictions and webhook deliveries, courses, interview kinds,
  plugin kinds, meter units and the choices of plugin settings (read from the code's own constants
  and the installed plugins), HTTP reason phrases and the names of the code's exceptions;
- a run of two or more English words, apart from names (`ALLOWED`), what is marked as another
  language (`lang="en"`) or as code (`<code>`, `<pre>`, `<kbd>`, `<samp>`), what a person typed
  (the text of a `<textarea>`) and the placeholders of a mail template (`{{ name }}`, `{% if %}`).
"""

from __future__ import annotations

import http
import itertools
import re
import secrets
import sys
from html.parser import HTMLParser
from typing import Any

import pytest
import pytest_asyncio
from litestar import get
from litestar.routes import HTTPRoute

from core.config import use_settings
from core.db.tables import Tenant
from core.hookspecs import hookimpl
from core.plugin_settings import schema_fields
from core.plugins import PluginHost, PluginMeta
from mendan.pytest_plugin import BASE_URL
from tests.conftest import login
from tests.interview_fixtures import open_link
from tests.japanese_world import _person, build_world

pytestmark = pytest.mark.sqlite_pass

PARAM = re.compile(r"\{(\w+):\w+\}")
JA = {"accept": "text/html", "accept-language": "ja"}

# Not pages people read in the service's language, and why.
NOT_PAGES = {
    "/schema": "the OpenAPI documentation of the REST API, for developers (its own viewers' texts)",
    "/static/": "style sheets and scripts",
    "/lang/": "the language switch: a redirect",
    "/events": "server-sent events of a job's progress (the job page renders the same texts)",
}
ROLES = ("admin", "interviewer", "expert", "interviewee", "operator")

# Names, codes and abbreviations that are the same in Japanese: they never count as English words.
ALLOWED = {
    "mendan", "API", "REST", "CSV", "PDF", "JSON", "URL", "HTTPS", "ID", "IDs", "OK", "AI", "SHAP", "MAE", "RMSE",
    "Spearman", "PSI", "WebM", "MP4", "tus", "CatBoost", "Stripe", "Google", "Chrome", "Microsoft", "Edge",
    "Safari", "Firefox", "iPhone", "Android", "Whisper", "NeMo", "MediaPipe", "InsightFace", "OpenJTalk", "e5",
    "STAR", "DKIM", "SPF", "SMTP", "Bearer", "JST", "HR", "n",
}


def _constants() -> dict[str, str]:
    """English values the code stores and could show raw: word -> where it comes from."""
    from core.db.tables import ROLES as USER_ROLES
    from core.interviews.tables import INTERVIEW_KINDS, INTERVIEW_STATES, RECORDING_STATES
    from core.web.i18n import JOB_STATES
    from core.webhooks.tables import DELIVERY_STATES
    from plugins.ai_model.api import REVIEW_STATES, VERSION_STATES
    from tenants.tables import CONTRACT_STATES, COURSES

    found = {}
    for source, values in (("role", USER_ROLES), ("interview state", INTERVIEW_STATES),
                           ("interview kind", INTERVIEW_KINDS), ("recording state", RECORDING_STATES),
                           ("job state", JOB_STATES), ("delivery state", DELIVERY_STATES),
                           ("model version state", VERSION_STATES), ("prediction state", REVIEW_STATES),
                           ("contract state", CONTRACT_STATES), ("course", COURSES),
                           ("plugin kind", ("basic", "option")), ("service hours", ("interactive", "batch")),
                           ("a time in UTC: pages show Japan time", ("UTC",))):
        for value in values:
            found[value] = source
    return found


def _short_msgids() -> dict[str, str]:
    """The catalogue's msgids of one to three lowercase words (states, units, progress messages):
    shown raw, one of them is a value that skipped its translation."""
    from core.web.i18n import translations

    catalogue = translations("ja")
    return {msgid: "a msgid shown untranslated" for msgid in catalogue._catalog
            if isinstance(msgid, str) and re.fullmatch(r"[a-z]+(?: [a-z]+){0,2}", msgid)
            and catalogue.gettext(msgid) != msgid}


def deny_list(host: PluginHost) -> dict[str, str]:
    """Every known English value (word or phrase) -> what it is."""
    found = _short_msgids() | _constants()
    for meta in host.metas.values():
        for meter in meta.meters:
            found[meter.unit] = f"unit of the meter {meter.key}"
        for field in schema_fields(meta.settings) if meta.settings else ():
            found.update({choice: f"choice of the setting {meta.key}.{field.name}"
                          for choice in field.choices if isinstance(choice, str)})
    for status in http.HTTPStatus:
        if status >= 400:
            found[status.phrase] = "HTTP reason phrase"
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("core.", "plugins.", "tenants.", "billing.", "mendan.")):
            continue
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Exception)
                    and value.__module__ == name):
                found[value.__name__] = f"exception {name}.{value.__name__}"
    return found


class VisibleText(HTMLParser):
    """The text a person sees or hears of a page: data outside scripts and styles, and the attributes
    that are shown or read out. Text marked as another language or as code is left out."""

    SKIPPED = {"script", "style", "template", "code", "pre", "kbd", "samp", "textarea"}
    READ = ("title", "placeholder", "aria-label", "alt")
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[bool] = []  # per open element: is its text left out

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        skipped = bool(self.open and self.open[-1]) or tag in self.SKIPPED or \
            values.get("lang", "ja") not in ("ja", "") and tag != "html"
        if not skipped:
            self.parts.extend(str(values[a]) for a in self.READ if values.get(a))
            if tag == "input" and values.get("type") in ("submit", "button", "reset") and values.get("value"):
                self.parts.append(str(values["value"]))
        if tag not in self.VOID:
            self.open.append(skipped)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.open:
            self.open.pop()

    def handle_data(self, data):
        if not (self.open and self.open[-1]) and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.parts


WORD = re.compile(r"[A-Za-z][A-Za-z']*")
PLACEHOLDER = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)


def english_runs(text: str) -> list[str]:
    """Runs of two or more English words in a row (names in ALLOWED break a run)."""
    runs, current = [], []
    for token in re.split(r"\s+", text):
        bare = token.strip("()[]{}.,:;!?\"'「」『』（）・、。…/")
        if WORD.fullmatch(bare) and bare not in ALLOWED:
            current.append(bare)
            continue
        if len(current) >= 2:
            runs.append(" ".join(current))
        current = []
    if len(current) >= 2:
        runs.append(" ".join(current))
    return runs


def leaks(html: str, denied: dict[str, str], data: frozenset[str] = frozenset()) -> list[str]:
    """What of the page's visible text is English: a denied value (and what it is) or a run of words.
    `data`: what customers typed (other tests' tenant names on the operator's pages), left out."""
    found = []
    for part in visible_text(html):
        part = PLACEHOLDER.sub(" ", part)
        for typed in data:
            part = part.replace(typed, " ")
        for value, what in denied.items():
            if re.search(rf"(?<![\w.@/-]){re.escape(value)}(?![\w@/-])", part):  # as the code writes it
                found.append(f"{value!r} ({what}) in {part[:120]!r}")
        found.extend(f"English words {run!r} in {part[:120]!r}" for run in english_runs(part))
    return found


class BrokenPage:
    """A test-only plugin whose page fails, so the test sees the 500 page as a person would."""

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="broken_page", name_ja="壊れたページ", name_en="Broken page", version="1",
                          kind="basic", hours="batch")

    @hookimpl
    def mendan_route_handlers(self):
        @get("/", media_type="text/html")
        async def broken() -> str:
            raise RuntimeError("a bug in a page")

        return [broken]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(mendan_database):
    from litestar.testing import AsyncTestClient

    from mendan.app import create_app

    host = PluginHost()
    host.load_entry_points()
    host.register(BrokenPage(), key="broken_page")
    app = create_app(use_settings(mendan_database), host=host)
    async with AsyncTestClient(app, base_url=BASE_URL) as client:  # started: the world's jobs run
        world = await build_world(app)
        world.update(app=app, client=client, host=host, denied=deny_list(host))
        yield world


def pages(app) -> list[str]:
    """Path templates of every GET route that may answer a page, NOT_PAGES and the test's own left out."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "GET" not in route.methods or route.path.startswith("/api/"):
            continue
        if any(marker in route.path for marker in NOT_PAGES) or "/broken_page" in route.path:
            continue
        found.append(route.path)
    return sorted(set(found))


def urls(path: str, world: dict[str, Any], role: str) -> list[str]:
    """The addresses of a path template, its parameters filled from the world's data."""
    names = PARAM.findall(path)
    params = dict(world["params"])
    params["token"] = [world["join_token"]] if "/join/" in path else \
        [world["reset_token"] if path.startswith("/t/") else world["operator_reset_token"]]
    if "/self_interview/" in path and "key" in names:
        params["interview_id"], params["key"] = [world["interviews"]["self"].id], ["q1"]
    if "recording_id" in names:
        params["interview_id"] = [world["interviews"]["analysed"].id]
    choices = [params.get(name, []) for name in names]
    out = []
    for values in itertools.product(*choices):
        filled = iter(values)
        out.append(PARAM.sub(lambda _m: str(next(filled)), path))
    return out


async def sign_in(world: dict[str, Any], role: str) -> None:
    client, tenant, person = world["client"], world["tenant"], world["people"][role]
    client.cookies.clear()
    if role == "interviewee":
        answer = await open_link(client, f"/t/{tenant.slug}/join/{world['join_token']}", JA)
        assert answer.status_code in (302, 303), answer.text[-500:]
    else:
        await login(client, None if role == "operator" else tenant, person)
    client.cookies.set("lang", "ja")


def _for(role: str, path: str) -> bool:
    """Operators work in /ops/; the tenant's people in /t/; both see the pages outside either."""
    if role == "operator":
        return not path.startswith("/t/")
    return not path.startswith("/ops")


@pytest.mark.parametrize("role", ROLES)
async def test_every_page_reads_in_japanese(world, role):
    client = world["client"]
    await sign_in(world, role)
    # The operator's pages list every tenant of the shared test database, named by other tests.
    data = frozenset(row["name"] for row in await Tenant.select(Tenant.name)) if role == "operator" else frozenset()
    found, failed, read = [], [], 0
    for path in pages(world["app"]):
        if not _for(role, path):
            continue
        for url in urls(path, world, role):
            answer = await client.get(url, headers=JA, follow_redirects=False)
            if answer.status_code >= 500:
                failed.append(f"{url}: {answer.status_code}")
            if not answer.headers.get("content-type", "").startswith("text/html"):
                continue
            read += 1
            found.extend(f"{url} ({answer.status_code}): {leak}" for leak in leaks(answer.text, world["denied"], data))
    assert not failed, "pages that failed:\n" + "\n".join(failed)
    assert read > 20, f"only {read} pages read: the crawl proves nothing"
    assert not found, f"{len(found)} English values on Japanese pages ({role}):\n" + "\n".join(sorted(set(found)))


async def test_error_pages_read_in_japanese(world):
    client, tenant = world["client"], world["tenant"]
    await sign_in(world, "interviewer")
    answers = {
        400: await client.get(f"/t/{tenant.slug}/jobs?page_number=abc", headers=JA),
        403: await client.get(f"/t/{tenant.slug}/people/", headers=JA),
        404: await client.get(f"/t/{tenant.slug}/no-such-page", headers=JA),
        500: await client.get(f"/t/{tenant.slug}/broken_page/", headers=JA),
    }
    client.cookies.clear()
    locked = await _person(tenant, "interviewer", "鍵 太郎")
    await client.get(f"/t/{tenant.slug}/login", headers=JA)
    for _attempt in range(10):
        answer = await client.post(f"/t/{tenant.slug}/login", headers=JA | {"x-csrftoken": client.cookies.get(
            "csrftoken", "")}, data={"email": locked.email, "password": secrets.token_hex(8)})
        if answer.status_code == 429:
            break
    answers[429] = answer
    found = []
    for status, answer in answers.items():
        assert answer.status_code == status, (status, answer.status_code, answer.text[-300:])
        found.extend(f"{status}: {leak}" for leak in leaks(answer.text, world["denied"]))
    assert not found, "\n".join(found)


async def test_ethics_reports_name_attributes_and_groups_as_the_tenant_named_them(world):
    """The analyses work on keys ("gender", "female", the feature family "face"); the reports show the
    names (性別, 女性; tests/test_ethics_report.py shows the feature families' names)."""
    client, slug = world["client"], world["tenant"].slug
    await sign_in(world, "admin")
    for path in (f"ethics_model/reports/{world['params']['report_id'][0]}",
                 f"ethics_prediction/snapshots/{world['params']['snapshot_id'][0]}"):
        answer = await client.get(f"/t/{slug}/{path}", headers=JA)
        assert answer.status_code == 200, path
        text = " ".join(visible_text(answer.text))
        assert "性別" in text and "女性" in text, path
        assert not re.search(r"\b(gender|female|male|face|emotion)\b", text), \
            (path, re.findall(r".{30}\b(?:gender|female|male|face|emotion)\b.{30}", text))


def test_the_checks_catch_what_they_are_for(world):
    """The extraction and the rules themselves: each of the issue's examples is caught."""
    denied = world["denied"]
    page = ('<html lang="ja"><body><p>曜日コース: weekday</p><span>状態: active</span><td>ready</td>'
            '<p>面接 太郎 (interviewer)</p><td>42 minute</td><h1>Too Many Requests</h1>'
            '<p>TrainingRefused: 評価がありません</p><input type="submit" value="Save changes">'
            '<a title="Open the report">報告</a><script>var x = "not shown at all";</script>'
            '<p><span lang="en">mendan</span> <code>ai_model.build failed</code></p></body></html>')
    caught = "\n".join(leaks(page, denied))
    for example in ("'weekday'", "'active'", "'ready'", "'interviewer'", "'minute'", "'Too Many Requests'",
                    "'TrainingRefused'", "Save changes", "Open the report"):
        assert example in caught, (example, caught)
    assert "not shown" not in caught and "ai_model" not in caught and "mendan" not in caught
