"""Text typed into forms and files: one rule for every name and title field.

A value longer than its field is refused with a message, never cut: a cut at a fixed number
of code points can split an emoji sequence or a combining mark and silently changes what the
person typed. NUL and other control characters are refused too (PostgreSQL cannot store NUL,
and a CR in a title would start a new line in an iCalendar file or a mail header).
"""

from __future__ import annotations

import unicodedata

from core.web.i18n import gettext as _

NAME_LENGTH = 200  # display names, interview titles, question-set and item names, tenant names
LINE_ENDS = "\r\n"


class TextProblem(ValueError):
    """A text value was refused; the message (translated) names the field and says why."""


def clean_text(value: object, *, label: str, max_length: int = NAME_LENGTH, multiline: bool = False,
               required: bool = False) -> str:
    """`value` stripped of surrounding white space, or TextProblem.

    `label` is the field's name in the reader's language (already translated); `max_length`
    counts code points, as the database column does. Single-line values refuse every control
    character (tab, CR, LF included); multi-line ones allow tab, CR and LF.
    """
    text = str(value if value is not None else "").strip()
    allowed = "\t" + LINE_ENDS if multiline else ""
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
        raise TextProblem(_("%(field)s contains a control character (such as a line break); remove it.")
                          % {"field": label})
    if len(text) > max_length:
        raise TextProblem(_("%(field)s is %(length)s characters long; at most %(max)s are allowed.")
                          % {"field": label, "length": len(text), "max": max_length})
    if required and not text:
        raise TextProblem(_("%(field)s is required.") % {"field": label})
    return text
