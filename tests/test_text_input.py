"""One rule for every name field: a value over the limit is refused with a message (never cut,
which could split an emoji sequence), and control characters are refused."""

from __future__ import annotations

import pytest

from core.db.tables import User
from core.interviews.people import PersonProblem, create_person, import_people
from core.tenancy import TenantScope
from core.text_input import NAME_LENGTH, TextProblem, clean_text

FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"  # one grapheme, seven code points


def test_a_name_over_the_limit_is_refused_not_cut():
    fits = "あ" * (NAME_LENGTH - len(FAMILY)) + FAMILY
    assert clean_text(fits, label="Name") == fits
    with pytest.raises(TextProblem, match="201"):
        clean_text("あ" * (NAME_LENGTH - len(FAMILY) + 1) + FAMILY, label="Name")


@pytest.mark.parametrize("bad", ["a\x00b", "title\rX-INJECT:1", "two\nlines", "bell\x07", "line\u2028separator"])
def test_control_characters_are_refused_in_single_line_fields(bad):
    with pytest.raises(TextProblem):
        clean_text(bad, label="Title")
    assert clean_text("two\nlines", label="Comment", multiline=True, max_length=50) == "two\nlines"


@pytest.mark.parametrize("invisible", ["\u200b", "\u200b\u3000\u200d", "\ufeff"])
def test_a_name_of_invisible_characters_only_counts_as_empty(invisible):
    with pytest.raises(TextProblem, match="Name を入力してください"):
        clean_text(invisible, label="Name", required=True)
    assert clean_text(invisible, label="Name") == ""
    assert clean_text("山田\u200b太郎", label="Name") == "山田\u200b太郎"  # visible text keeps what was typed
    assert clean_text(FAMILY, label="Name") == FAMILY  # ZWJ sequences are visible


async def test_people_with_long_names_are_refused_with_the_line(make_tenant):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    with pytest.raises(PersonProblem):
        await create_person(scope, email="a@example.jp", display_name="x" * 199 + FAMILY, role="interviewee")
    csv = f"email,display_name,role,language\nb@example.jp,{'y' * 195 + FAMILY},interviewee,ja\n"
    report = await import_people(scope, csv.encode())
    assert [(e.line, e.column) for e in report.errors] == [(2, "display_name")]
    assert await scope.count(User) == 0


def test_csv_exports_neutralise_formulas_and_keep_numbers():
    import csv
    import io

    from core import csv_output

    out = io.StringIO()
    csv.writer(out).writerow(csv_output.row(["=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)", "-3", -3, 2.5,
                                             "\tcmd", "plain"]))
    cells = next(csv.reader(io.StringIO(out.getvalue())))
    assert cells == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'@SUM(A1)", "-3", "-3", "2.5", "'\tcmd", "plain"]


def test_a_line_break_in_a_file_name_never_reaches_a_header():
    from core.web.blobs import content_disposition

    header = content_disposition("answer\r\nSet-Cookie: x=1.webm", inline=True)
    assert "\r" not in header and "\n" not in header and "answer__Set-Cookie" in header
