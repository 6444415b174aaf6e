"""The tenant admin's pages for mail texts (core.mail_templates): the list of templates with the
contact the mails name, one template's form with a preview rendered on the server from sample
values (the page's scripts are static files only), saving after checking the placeholders, and
going back to the shipped text."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from core import audit
from core.auth.guards import requires_admin
from core.db.tables import Tenant
from core.interviews.senders import sender_of
from core.interviews.web_forms import Form
from core.mail_templates import (KINDS, MailTemplateProblem, check, contact_of, current_text, own_templates, render,
                                 reset, sample_values, save, set_contact, stored_text)
from core.tenancy import TenantScope
from core.text_input import TextProblem
from core.web.i18n import LANGUAGES
from core.web.i18n import gettext as _
from core.web.rendering import page


def _raw(data: dict[str, Any], name: str) -> str:
    """A form field as typed (a template's line breaks and indentation matter)."""
    value = data.get(name, "")
    return str(value[0] if isinstance(value, list) and value else value)


async def _contact(request: Request, scope: TenantScope) -> str:
    row = await sender_of(scope)
    return await contact_of(scope, row.address if row else request.app.state.settings.mail_from)


async def _list_page(request: Request, scope: TenantScope, status_code: int = 200, error: str | None = None,
                     saved: bool = False) -> Any:
    own = await own_templates(scope)
    return await page(request, "interviews/mail_templates.html", status_code=status_code, kinds=KINDS.values(),
                      languages=LANGUAGES, own=own, contact=await _contact(request, scope), error=error, saved=saved)


async def _edit_page(request: Request, scope: TenantScope, kind: str, language: str, *,
                     subject: str, body: str, status_code: int = 200, error: str | None = None,
                     preview: Any = None, saved: bool = False) -> Any:
    return await page(request, "interviews/mail_template.html", status_code=status_code, kind=KINDS[kind],
                      language=language, subject=subject, body=body, error=error, preview=preview, saved=saved,
                      placeholders=KINDS[kind].placeholders, own=await stored_text(scope, kind, language) is not None)


def _known(kind: str, language: str) -> None:
    if kind not in KINDS or language not in LANGUAGES:
        raise NotFoundException(_("No such mail template."))


class MailTemplateController(Controller):
    path = "/mail/templates"
    guards = [requires_admin]

    @get("/")
    async def templates(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                        saved: FromQuery[bool] = False) -> Template:
        return await _list_page(request, tenant_scope, saved=saved)

    @post("/contact", media_type=MediaType.HTML)
    async def change_contact(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                             tenant_row: NamedDependency[Tenant], data: Form) -> Any:
        try:
            await set_contact(tenant_scope, _raw(data, "contact"))
        except TextProblem as exc:
            return await _list_page(request, tenant_scope, status_code=400, error=str(exc))
        await audit.record("mail.contact_set", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           ip=audit.client_ip(request))
        return Redirect(f"/t/{tenant_row.slug}/mail/templates/?saved=true")

    @get("/{kind:str}/{language:str}")
    async def edit(self, request: Request, tenant_scope: NamedDependency[TenantScope], kind: FromPath[str],
                   language: FromPath[str], saved: FromQuery[bool] = False) -> Template:
        _known(kind, language)
        subject, body = await current_text(tenant_scope, kind, language)
        return await _edit_page(request, tenant_scope, kind, language, subject=subject, body=body,
                                saved=saved)

    @post("/{kind:str}/{language:str}", media_type=MediaType.HTML)
    async def save_or_preview(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                              tenant_row: NamedDependency[Tenant], kind: FromPath[str], language: FromPath[str],
                              data: Form) -> Any:
        """`action=preview` renders the typed text with sample values and keeps nothing;
        `action=save` keeps it. A refused text comes back in the form with the reason."""
        _known(kind, language)
        subject, body = _raw(data, "subject"), _raw(data, "body")
        try:
            if _raw(data, "action") == "preview":
                values = sample_values(kind, language, tenant_row.name, await _contact(request, tenant_scope))
                # The save's own check first, so a preview never shows a text that could not be saved.
                preview = render(kind, *check(kind, subject, body), values)
                return await _edit_page(request, tenant_scope, kind, language, subject=subject,
                                        body=body, preview=preview)
            await save(tenant_scope, kind, language, subject, body, request.user.id)
        except MailTemplateProblem as exc:
            return await _edit_page(request, tenant_scope, kind, language, subject=subject, body=body,
                                    status_code=400, error=str(exc))
        await audit.record("mail.template_saved", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=f"{kind}/{language}", ip=audit.client_ip(request))
        return Redirect(f"/t/{tenant_row.slug}/mail/templates/{kind}/{language}?saved=true")

    @post("/{kind:str}/{language:str}/reset")
    async def back_to_default(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                              tenant_row: NamedDependency[Tenant], kind: FromPath[str],
                              language: FromPath[str]) -> Redirect:
        _known(kind, language)
        await reset(tenant_scope, kind, language)
        await audit.record("mail.template_reset", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=f"{kind}/{language}", ip=audit.client_ip(request))
        return Redirect(f"/t/{tenant_row.slug}/mail/templates/{kind}/{language}")

