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


@pytest.mark.parametrize("bad", ["a\x00b", "title\rX-INJECT:1", "two\nlines", "bell\x07"])
def test_control_characters_are_refused_in_single_line_fields(bad):
    with pytest.raises(TextProblem):
        clean_text(bad, label="Title")
    assert clean_text("two\nlines", label="Comment", multiline=True, max_length=50) == "two\nlines"


async def test_people_with_long_names_are_refused_with_the_line(make_tenant):
    tenant = await make_tenant()
    scope = TenantScope(tenant.id)
    with pytest.raises(PersonProblem):
        await create_person(scope, email="a@example.jp", display_name="x" * 199 + FAMILY, role="interviewee")
    csv = f"email,display_name,role,language\nb@example.jp,{'y' * 195 + FAMILY},interviewee,ja\n"
    report = await import_people(scope, csv.encode())
    assert [(e.line, e.column) for e in report.errors] == [(2, "display_name")]
    assert await scope.count(User) == 0
