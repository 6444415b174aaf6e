"""What a job says to people, in the reader's language: its progress message and why it failed.

A job runs for no one in particular, so what it stores is English, and pages translate it when
they show it:

- a progress message is a msgid (marked with `N_` where it is written); one with values to fill
  in (counts, names) is stored by `job_text(msgid, **values)`, which `message_text` reads back;
- an error is what the job queue stored (`"ExceptionName: message"`), a refusal's message
  (`core.tasks.JobRefused`: a msgid, or a msgid, ": " and details such as ids or English reasons;
  a msgid whose one variable part is a whole number is read with that number as `%(n)s`), or a
  `job_text`. `failure_text` says it in words: the exception's name is left out (it is for the
  operators), a known msgid is translated, a message an actor already said in words (translated
  when raised: it is not ASCII) is shown as it is, and anything else reads as an unexpected error;
  `technical_detail` is then the stored text, for the operators and support.

The same reading serves other stored reasons that follow the rule (a webhook attempt's error).
"""

from __future__ import annotations

import json
import re
from typing import Any

from core.web.i18n import N_, translations

_EXCEPTION_NAME = re.compile(r"^(?:[A-Z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*: )+")
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")
UNEXPECTED = N_("The job stopped because of an unexpected error.")


def job_text(msgid: str, **values: Any) -> str:
    """A message with values as a job stores it: `message_text` fills `msgid`'s `%(name)s`
    placeholders after translating it. Without values, the msgid itself."""
    if not values:
        return msgid
    return json.dumps({"msgid": msgid, "values": values}, ensure_ascii=False, default=str)


def _decoded(stored: str) -> tuple[str, dict[str, Any]] | None:
    if not stored.startswith('{"msgid"'):
        return None
    try:
        data = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("msgid"), str):
        return None
    values = data.get("values")
    return data["msgid"], values if isinstance(values, dict) else {}


def _known(msgid: str, language: str) -> str | None:
    """The msgid in `language` when the catalogue knows it (the Japanese one holds every msgid)."""
    if not msgid:
        return None
    japanese = translations("ja").gettext(msgid)
    if japanese == msgid:
        return None
    return translations(language).gettext(msgid)


def message_text(stored: str, language: str) -> str:
    """A stored progress message in `language`; one the catalogue lacks (a count like "3/10")
    is shown as it is."""
    if not stored:
        return ""
    decoded = _decoded(stored)
    if decoded is not None:
        msgid, values = decoded
        try:
            return (_known(msgid, language) or msgid) % values
        except (KeyError, TypeError, ValueError):
            return msgid
    return _known(stored, language) or stored


def _with_number(sentence: str, language: str) -> str | None:
    """The sentence translated as the msgid with its one whole number as `%(n)s`, if the catalogue has it."""
    numbers = _NUMBER.findall(sentence)
    if len(numbers) != 1:
        return None
    known = _known(_NUMBER.sub("%(n)s", sentence), language)
    return known % {"n": numbers[0]} if known is not None else None


def _said(sentence: str, language: str) -> str | None:
    """The sentence in words in `language`, or None when no rule knows it."""
    if _decoded(sentence) is not None:
        return message_text(sentence, language)
    for candidate in (sentence, sentence.split(": ", 1)[0]):
        known = _known(candidate, language) or _with_number(candidate, language)
        if known is not None:
            return known
    if not sentence.isascii():
        return sentence
    return None


def _sentence(error: str) -> str:
    """The error's last line without the exception's name."""
    return _EXCEPTION_NAME.sub("", error.strip().rsplit("\n", 1)[-1].strip())


def failure_text(error: str, language: str, unexpected: str = UNEXPECTED) -> str:
    """Why it failed, in words in `language`: the stored text's msgid translated (a `job_text`, the
    whole message, or the part before its first ": "); `unexpected` (a msgid) when no part of it
    is a msgid. Empty for no error."""
    if not error or not error.strip():
        return ""
    said = _said(_sentence(error), language)
    return said if said is not None else translations(language).gettext(unexpected)


def job_texts(message: str, error: str, language: str) -> dict[str, str]:
    """What a job's progress box says in `language`: `message`, `error` (why it failed, in words)
    and `detail` (the stored error where the words do not say it all)."""
    return {"message": message_text(message, language), "error": failure_text(error, language),
            "detail": technical_detail(error)}


def technical_detail(error: str) -> str:
    """The stored error when `failure_text` could not say all of it in words (details after the
    msgid, an unknown message): for the operators and support. Empty when the words say it all."""
    if not error or not error.strip():
        return ""
    sentence = _sentence(error)
    if _decoded(sentence) is not None or _known(sentence, "ja") is not None or _with_number(sentence, "ja") \
            or not sentence.isascii():
        return ""
    return error.strip()
