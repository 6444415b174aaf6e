"""Litestar appends "; charset=utf-8" to every text/* media type a Response or File is given, so a
handler that passes the charset itself sends it twice ("text/csv; charset=utf-8; charset=utf-8").
No handler of the product passes one; the answers themselves are checked in the tests of each
download (tests/test_speech_jobs.py, tests/test_summary_panel.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from litestar import Response, get
from litestar.response import File
from litestar.testing import create_test_client

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("core", "plugins", "billing", "tenants", "mendan", "examples")


def media_types_with_a_charset() -> list[str]:
    """Every `media_type=` string literal in the product's code that names a charset."""
    found = []
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            if ".venv" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.keyword) and node.arg == "media_type":
                    value = node.value
                    if isinstance(value, ast.Constant) and isinstance(value.value, str) \
                            and "charset" in value.value.lower():
                        found.append(f"{path.relative_to(ROOT)}:{node.value.lineno} {value.value}")
    return found


def test_no_handler_passes_a_charset_that_litestar_adds_itself():
    assert media_types_with_a_charset() == []


def test_litestar_adds_the_charset_once_to_text_media_types(tmp_path):
    # The rule above rests on this: were Litestar to stop adding it, text downloads would lose it.
    script = tmp_path / "a.js"
    script.write_text("1;", encoding="utf-8")

    @get("/text")
    async def text() -> Response:
        return Response("文字", media_type="text/vtt")

    @get("/file")
    async def file() -> File:
        return File(path=script, media_type="text/javascript", content_disposition_type="inline")

    with create_test_client([text, file]) as client:
        assert client.get("/text").headers["content-type"] == "text/vtt; charset=utf-8"
        assert client.get("/file").headers["content-type"] == "text/javascript; charset=utf-8"
