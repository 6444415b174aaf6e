"""A transcript as plain text and as WebVTT captions (W3C WebVTT: cue times HH:MM:SS.mmm)."""

from __future__ import annotations

from core.transcripts import Transcript


def timestamp(seconds: float) -> str:
    """WebVTT's cue time of `seconds` (>= 0): "00:01:02.500"."""
    millis = int(round(max(0.0, seconds) * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _cue_text(text: str) -> str:
    # "-->" and markup would end or style the cue; a blank line would end it.
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(transcript: Transcript) -> str:
    """WebVTT captions, one cue per segment (a segment shorter than 0.5 s is shown for 0.5 s)."""
    lines = ["WEBVTT", f"Language: {transcript.language}", ""]
    for index, segment in enumerate(transcript.segments, 1):
        text = _cue_text(segment.text)
        if not text:
            continue
        end = max(segment.end, segment.start + 0.5)
        lines += [str(index), f"{timestamp(segment.start)} --> {timestamp(end)}", text, ""]
    return "\n".join(lines)


def to_text(transcript: Transcript) -> str:
    """One line per segment: "[mm:ss] text"."""
    out = []
    for segment in transcript.segments:
        minutes, seconds = divmod(int(segment.start), 60)
        out.append(f"[{minutes:02d}:{seconds:02d}] {segment.text.strip()}")
    return "\n".join(out) + ("\n" if out else "")
