"""Transcripts recognised by the interviewee's browser (the Web Speech API, where one is offered).

The browser's recogniser is the vendor's, of unknown quality, and its times are the page's
clock: such a transcript is kept with `source="browser"` and its confidences capped at
`BROWSER_CONFIDENCE`, so a server transcript of the same recording is preferred.
Accepted payload (JSON), times in seconds from the recording's start:
    {"language": "ja", "results": [{"start": 0.0, "end": 2.1, "transcript": "…", "confidence": 0.9}, …]}
"""

from __future__ import annotations

import math
from typing import Any

from core.transcripts import Segment, Transcript
from core.web.i18n import gettext as _

BROWSER_CONFIDENCE = 0.5
MAX_RESULTS = 5000
MAX_TEXT = 2000


class BrowserTranscriptInvalid(ValueError):
    """The payload is not a browser transcript of the accepted shape; the message says what is wrong."""


def browser_transcript(payload: Any, language: str) -> Transcript:
    """The payload as a Transcript in the interview's `language`. Raises BrowserTranscriptInvalid
    (wrong shape, other language, times not increasing or not finite, overlong text)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise BrowserTranscriptInvalid(_("A browser transcript needs a list of results."))
    if payload.get("language", language) != language:
        raise BrowserTranscriptInvalid(_("The browser recognised %(found)s, but the interview is in %(language)s.")
                                       % {"found": payload.get("language"), "language": language})
    if len(payload["results"]) > MAX_RESULTS:
        raise BrowserTranscriptInvalid(_("Too many results in the browser transcript."))
    segments = []
    previous_end = 0.0
    for index, result in enumerate(payload["results"], 1):
        try:
            start, end = float(result["start"]), float(result["end"])
            text = str(result["transcript"]).strip()
            confidence = float(result.get("confidence") or BROWSER_CONFIDENCE)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BrowserTranscriptInvalid(_("Result %(index)d needs start, end and transcript.")
                                           % {"index": index}) from None
        if not all(map(math.isfinite, (start, end, confidence))) or not previous_end - 0.5 <= start <= end:
            raise BrowserTranscriptInvalid(_("Result %(index)d has times out of order.") % {"index": index})
        if len(text) > MAX_TEXT:
            raise BrowserTranscriptInvalid(_("Result %(index)d is too long.") % {"index": index})
        previous_end = end
        if text:
            segments.append(Segment(start=start, end=end, text=text,
                                    confidence=round(min(max(confidence, 0.0), 1.0) * BROWSER_CONFIDENCE, 4)))
    return Transcript(language=language, source="browser", segments=tuple(segments))
