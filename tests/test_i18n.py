"""Japanese first, English too: the catalogues cover every message in the code and templates,
compile, keep their placeholders, and the language is chosen by switch, browser, then Japanese."""

from __future__ import annotations

import re
from collections import defaultdict
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core.db.tables import ROLES
from core.web.i18n import JOB_STATES, LOCALE_DIR, ROLE_NAMES, pick_language

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]")


def extracted_messages() -> dict[str, set[str]]:
    """Every msgid Babel extracts with babel.cfg, with the files it appears in."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, set[str]] = defaultdict(set)
    for filename, lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found[msgid].add(f"{filename}:{lineno}")
    return found


def catalogue(language: str):
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=language)


def test_extraction_finds_the_core_templates_and_code():
    messages = extracted_messages()
    assert any("core/web/templates/base.html" in where for where in messages["Skip to content"])
    assert any("mendan/app.py" in where or "core/web/errors.py" in where
               for where in messages["This service is not part of your contract."])


def test_every_extracted_message_has_a_japanese_translation():
    ja = catalogue("ja")
    missing = {
        msgid: sorted(where)
        for msgid, where in extracted_messages().items()
        if not (ja.get(msgid) and ja.get(msgid).string)
    }
    listing = "\n".join(f"  {msgid!r}  ({', '.join(where[:3])})" for msgid, where in sorted(missing.items()))
    if missing:
        pytest.fail(
            f"{len(missing)} messages lack a Japanese translation in core/web/locale/ja/LC_MESSAGES/messages.po:\n"
            f"{listing}",
            pytrace=False,
        )


def test_role_names_and_job_states_are_in_the_catalogue():
    assert set(ROLE_NAMES) == set(ROLES)
    assert set(JOB_STATES) == {"queued", "running", "done", "failed"}
    ja = catalogue("ja")
    assert ja.get("interviewee").string == "被面談者"
    assert ja.get("expert").string == "熟練面談者"


def _raw_msgids(path: Path) -> list[str]:
    """The msgids as written in the file, so a duplicate (which read_po merges silently) shows."""
    ids, current, in_msgid = [], None, False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            current, in_msgid = line[6:], True
        elif in_msgid and line.startswith('"'):
            current += line
        else:
            if in_msgid:
                ids.append(current)
            in_msgid = False
    if in_msgid:
        ids.append(current)
    return ids


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_catalogue_compiles_without_duplicates_or_errors(language):
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    ids = _raw_msgids(path)
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"msgids written twice in {path}: {duplicates}"
    catalog = catalogue(language)
    problems = [(message.id, [str(e) for e in errors]) for message, errors in catalog.check()]
    assert not problems, problems
    buffer = BytesIO()
    write_mo(buffer, catalog)
    assert len(buffer.getvalue()) > 100


@pytest.mark.parametrize("language", ["ja", "en"])
def test_placeholders_match_between_msgid_and_translation(language):
    wrong = [
        (message.id, message.string)
        for message in catalogue(language)
        if message.id and message.string and isinstance(message.id, str)
        and set(PLACEHOLDER.findall(message.id)) != set(PLACEHOLDER.findall(message.string))
    ]
    assert not wrong, f"placeholders differ: {wrong}"


def test_the_switch_wins_over_the_user_and_the_browser():
    assert pick_language("en", "ja", "ja-JP") == "en"
    assert pick_language(None, "en", "ja-JP") == "en"
    assert pick_language("xx", None, "en-GB,en;q=0.9") == "en"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [(None, "ja"), ("", "ja"), ("fr-FR,fr;q=0.9", "ja"), ("fr-FR, en;q=0.5", "en"), ("en-US", "en"), ("ja,en;q=0.8", "ja")],
)
def test_browser_language_falls_back_to_japanese(accept, expected):
    assert pick_language(None, None, accept) == expected


async def test_pages_are_japanese_by_default(client):
    page = await client.get("/login", headers={"accept": "text/html"})
    assert '<html lang="ja">' in page.text
    assert "ログイン" in page.text and "本文へ移動" in page.text


async def test_the_browser_language_picks_english(client):
    page = await client.get("/login", headers={"accept": "text/html", "accept-language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in page.text
    assert "Sign in" in page.text and "ログイン" not in page.text


def _cookies_set(response) -> dict[str, str]:
    return dict(c.split(";")[0].split("=", 1) for c in response.headers.get_list("set-cookie"))


async def test_the_language_switch_sets_a_cookie_and_returns_to_the_page(client):
    switched = await client.get("/lang/en", params={"next": "/login"}, follow_redirects=False)
    assert switched.status_code in (302, 303) and switched.headers["location"] == "/login"
    assert _cookies_set(switched)["lang"] == "en"
    page = await client.get("/login", headers={"accept": "text/html", "accept-language": "ja"})
    assert '<html lang="en">' in page.text and "Forgot your password?" in page.text

    back = await client.get("/lang/ja", params={"next": "/login"}, follow_redirects=False)
    assert _cookies_set(back)["lang"] == "ja"
    page = await client.get("/login", headers={"accept": "text/html", "accept-language": "en"})
    assert '<html lang="ja">' in page.text and "パスワードをお忘れの方" in page.text


async def test_the_language_switch_ignores_unknown_languages_and_other_sites(client):
    unknown = await client.get("/lang/xx", params={"next": "/login"}, follow_redirects=False)
    assert unknown.headers["location"] == "/login" and "lang" not in _cookies_set(unknown)
    elsewhere = await client.get("/lang/en", params={"next": "//evil.example/"}, follow_redirects=False)
    assert elsewhere.headers["location"] == "/"
