"""The plugin's page, mounted by mendan under `/t/{tenant}/hello/`."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from core.web.rendering import page


@get("/", name="hello_index")
async def hello_index(request: Request) -> Template:
    """A greeting for the signed-in user's organisation."""
    return await page(request, "hello/index.html")


ROUTES = [hello_index]
