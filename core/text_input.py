"""Text typed into forms and files: one rule for every name and title field.

A value longer than its field is refused with a message, never cut: a cut at a fixed number
of code points can split an emoji sequence or a combining mark and silently changes what the
person typed. NUL and other control characters are refused too (PostgreSQL cannot store NUL,
and a CR in a title would start a new line in an iCalendar file or a mail header).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

import msgspec

from core.web.i18n import gettext as _

NAME_LENGTH = 200  # display names, interview titles, question-set and item names, tenant names
LINE_ENDS = "\r\n"
# The same rule as msgspec constraints for REST request bodies: checked while decoding (a 422
# problem) and shown in the OpenAPI schema. Cc is U+0000-001F and U+007F-009F.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"  # U+2028/2029: line and paragraph separators
MULTI_LINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def single_line(max_length: int = NAME_LENGTH, **meta: Any) -> Any:
    """`str` for a msgspec model: at most `max_length` code points, no control character.
    `meta`: further `msgspec.Meta` arguments (examples, description)."""
    return Annotated[str, msgspec.Meta(max_length=max_length, pattern=SINGLE_LINE_PATTERN, **meta)]


def multi_line(max_length: int, **meta: Any) -> Any:
    """`str` for a msgspec model: at most `max_length` code points; tab, CR and LF allowed, no
    other control character."""
    return Annotated[str, msgspec.Meta(max_length=max_length, pattern=MULTI_LINE_PATTERN, **meta)]


class TextProblem(ValueError):
    """A text value was refused; the message (translated) names the field and says why."""


def one_line(value: str) -> str:
    """`value` for a place that is one line by nature (a mail subject, an iCalendar SUMMARY, a
    header): every control character (a CR, LF or NUL an older row may still hold) becomes a space."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in value)


def clean_text(value: object, *, label: str, max_length: int = NAME_LENGTH, multiline: bool = False,
               required: bool = False) -> str:
    """`value` stripped of surrounding white space, or TextProblem.

    `label` is the field's name in the reader's language (already translated); `max_length`
    counts code points, as the database column does. Single-line values refuse every control
    character (tab, CR, LF included) and the Unicode line and paragraph separators; multi-line ones
    allow tab, CR and LF. A value of invisible characters only (zero-width spaces) counts as empty:
    it would show as a blank name.
    """
    text = str(value if value is not None else "").strip()
    allowed = "\t" + LINE_ENDS if multiline else ""
    refused = ("Cc",) if multiline else ("Cc", "Zl", "Zp")
    if all(unicodedata.category(c) in ("Cf", "Zs", "Zl", "Zp") for c in text):
        text = ""
    if any(unicodedata.category(c) in refused and c not in allowed for c in text):
        raise TextProblem(_("%(field)s contains a control character (such as a line break); remove it.")
                          % {"field": label})
    if len(text) > max_length:
        raise TextProblem(_("%(field)s is %(length)s characters long; at most %(max)s are allowed.")
                          % {"field": label, "length": len(text), "max": max_length})
    if required and not text:
        raise TextProblem(_("%(field)s is required.") % {"field": label})
    return text
