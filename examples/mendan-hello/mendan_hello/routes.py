"""The plugin's page, mounted by mendan under `/t/{tenant}/hello/`."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from core.web.rendering import page


@get("/", name="hello_index")
async def hello_index(request: Request) -> Template:
    """A greeting for the signed-in user's organisation, as the tenant's admin set it."""
    tenant = request.state["tenant"]
    settings = await request.app.state.plugin_host.settings_for(tenant.id, "hello")
    return await page(request, "hello/index.html", settings=settings)


ROUTES = [hello_index]
