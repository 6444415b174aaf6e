"""Every CSV the product reads goes through core.csv_input: the files Japanese offices really
save (Excel's CSV UTF-8, CP932 "CSV", UTF-16 "Unicode text" with tabs, Excel for Mac's CR-only
line ends), and a file it cannot read is a per-file message, never a 500."""

from __future__ import annotations

import pytest

from core.csv_input import CsvUnreadable, normalise_email, read_csv
from core.db.tables import User
from core.interviews.people import import_people
from core.tenancy import TenantScope
from core.web.i18n import current_language
from tests.conftest import HTML, form_csrf, login

HEADER = ["email", "display_name", "role", "language"]
ROWS = [["ｓａｔｏ＠ｅｘａｍｐｌｅ．ｊｐ", "佐藤 花子", "interviewee", "ja"],
        ["lee @example.jp", "Lee, \"Jay\"", "expert", "en"],
        ["taro１２３@example.jp", "髙橋 ①", "interviewer", "ja"]]


def _text(delimiter: str, line_end: str) -> str:
    def cell(value: str) -> str:
        return f'"{value.replace(chr(34), chr(34) * 2)}"' if any(c in value for c in f'"{delimiter}') else value
    return "".join(delimiter.join(cell(v) for v in row) + line_end for row in [HEADER, *ROWS])


# (what Excel calls it, the bytes it writes)
SAVED_AS = {
    "CSV UTF-8 (BOM, CRLF)": ("\ufeff" + _text(",", "\r\n")).encode("utf-8"),
    "UTF-8 without BOM, LF": _text(",", "\n").encode("utf-8"),
    "CSV (Japanese Excel: CP932, CRLF)": _text(",", "\r\n").encode("cp932"),
    "Excel for Mac CSV (CP932, CR only)": _text(",", "\r").encode("cp932"),
    "Unicode text (UTF-16 LE BOM, tabs)": _text("\t", "\r\n").encode("utf-16"),
    "UTF-16 BE with BOM, tabs": b"\xfe\xff" + _text("\t", "\r\n").encode("utf-16-be"),
    "UTF-8, tabs, CR only": _text("\t", "\r").encode("utf-8"),
}


@pytest.mark.parametrize("saved_as", SAVED_AS)
def test_every_encoding_line_end_and_delimiter_reads_the_same_table(saved_as):
    table = read_csv(SAVED_AS[saved_as])
    assert table.header == HEADER
    assert [line for line, _row in table.rows] == [2, 3, 4]
    assert [[row[c] for c in HEADER] for _line, row in table.rows] == ROWS


def test_a_quoted_value_with_a_line_break_keeps_the_line_numbers_right():
    data = 'email,display_name,role,language\r"a@example.jp","two\rlines",interviewee,ja\rb@example.jp,B,expert,ja\r'
    table = read_csv(data.encode("cp932"))
    assert [(line, row["display_name"]) for line, row in table.rows] == [(2, "two\rlines"), (4, "B")]


@pytest.mark.parametrize("data", [
    b"", b"\r\n\r\n", b"PK\x03\x04\x14\x00\x06\x00binary xlsx", b"\xff\xfe\x00\xd8",  # lone surrogate in UTF-16
    b'email,display_name\n"open quote,x\n',
])
def test_a_file_it_cannot_read_is_a_message_in_both_languages(data):
    messages = []
    for language in ("ja", "en"):
        token = current_language.set(language)
        try:
            with pytest.raises(CsvUnreadable) as caught:
                read_csv(data)
            messages.append(str(caught.value))
        finally:
            current_language.reset(token)
    ja, en = messages
    assert ja != en and any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in ja)


def test_emails_are_normalised_where_unambiguous():
    assert normalise_email("ＹＡＭＡＤＡ＠ｅｘａｍｐｌｅ．ｊｐ") == "yamada@example.jp"
    assert normalise_email(" taro\u3000@ example.jp ") == "taro@example.jp"
    assert normalise_email("０９０@example.jp") == "090@example.jp"


@pytest.mark.parametrize("saved_as", SAVED_AS)
async def test_the_people_import_takes_every_saved_form(make_tenant, saved_as):
    tenant = await make_tenant()
    report = await import_people(TenantScope(tenant.id), SAVED_AS[saved_as])
    assert report.ok, report.errors
    rows = {u.email: u for u in await TenantScope(tenant.id).objects(User)}
    assert set(rows) == {"sato@example.jp", "lee@example.jp", "taro123@example.jp"}
    assert rows["lee@example.jp"].display_name == 'Lee, "Jay"' and rows["sato@example.jp"].display_name == "佐藤 花子"


async def test_an_unreadable_upload_is_a_page_or_problem_not_a_500(client, make_tenant, make_user):
    tenant = await make_tenant()
    admin = await make_user(tenant, "admin")
    await login(client, tenant, admin)
    csrf = form_csrf((await client.get(f"/t/{tenant.slug}/people", headers=HTML)).text)
    binary = {"file": ("people.csv", b"\x00\x01\x02 not text \xff\xfe", "text/csv")}
    page = await client.post(f"/t/{tenant.slug}/people/import", headers=HTML, data={"_csrf_token": csrf},
                             files=binary)
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "Excel" in page.text and "取り込みませんでした" in page.text
    api = await client.post(f"/t/{tenant.slug}/people/import", headers={"accept": "application/json",
                                                                        "x-csrftoken": csrf}, files=binary)
    assert api.status_code == 400 and api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["errors"][0]["line"] == 1 and "Excel" in api.json()["errors"][0]["message"]
    assert await TenantScope(tenant.id).count(User) == 1


def test_a_value_longer_than_any_column_takes_is_named_as_such():
    """No quote anywhere: the csv module's size limit, not an unclosed quote, refused the line."""
    data = ("email,display_name\nsato@example.jp,佐藤\nlong@example.jp," + "長" * 200_000 + "\n").encode()
    token = current_language.set("ja")
    try:
        with pytest.raises(CsvUnreadable) as caught:
            read_csv(data)
    finally:
        current_language.reset(token)
    assert "3 行目" in str(caught.value) and "131,072 文字を超える値" in str(caught.value)
    assert "引用符" not in str(caught.value)


async def test_a_file_up_to_the_readers_limit_reaches_the_reader(client, make_tenant, make_user):
    """15 MB is within the documented 20 MB: the page answers with the import's own message
    (here: a value too long), not the server's generic "too large"."""
    tenant = await make_tenant()
    await login(client, tenant, await make_user(tenant, "admin"))
    csrf = form_csrf((await client.get(f"/t/{tenant.slug}/people", headers=HTML)).text)
    big = ("email,display_name\nbig@example.jp," + "a" * 15_000_000 + "\n").encode()
    page = await client.post(f"/t/{tenant.slug}/people/import", headers=HTML, data={"_csrf_token": csrf},
                             files={"file": ("people.csv", big, "text/csv")})
    assert page.status_code == 400 and "2 行目" in page.text and "文字を超える値" in page.text
