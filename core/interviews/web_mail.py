"""The tenant's mail page: sender address with its DKIM key, the DNS records to publish
(spec 4.2.2 (5)), and mail that could not be delivered after every retry; and the sent-mail
log (core.mail_log), a page of its own."""

from __future__ import annotations

import re
from email import message_from_string, policy
from typing import Any
from uuid import UUID

from litestar import MediaType, Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core import audit
from core.consent import consent_terms, set_privacy_policy_url
from core.db.json_columns import json_value
from core.auth.guards import requires_admin
from core.db.tables import Job, Tenant
from core.interviews.senders import dns_records, sender_of, set_sender
from core.interviews.web_forms import PAGE_SIZE, Form, page_window, text
from core.mail import queue_mail
from core.mail_log import logged_mail
from core.tenancy import TenantScope
from core.web.flash import flash
from core.web.i18n import N_, gettext as _
from core.web.rendering import page
from core.rest.pagination import PageNumber

RESENT = "resent"  # marks a failed mail job whose message was queued again


def failed_mail(job: Job) -> dict[str, Any]:
    args = json_value(job.args) or {}
    msg = message_from_string(args.get("message", ""), policy=policy.default)
    return {"id": job.id, "to": msg.get("To", ""), "subject": msg.get("Subject", ""), "error": job.error,
            "at": job.finished_at or job.created_at}


async def _mail_page(request: Request, scope: TenantScope, page_number: int, status_code: int = 200,
                     error: str | None = None) -> Template:
    sender = await sender_of(scope)
    limit, offset = page_window(page_number)
    jobs = await scope.objects(Job).where(
        (Job.actor == "core.send_mail") & (Job.state == "failed") & (Job.message != RESENT)).order_by(
        Job.created_at, ascending=False).limit(limit).offset(offset)
    return await page(
        request, "interviews/mail.html", status_code=status_code, sender=sender, error=error,
        records=dns_records(sender, request.app.state.settings.smtp_url) if sender else [],
        privacy_policy_url=(await consent_terms(scope.tenant_id))["privacy_policy_url"],
        failed=[failed_mail(j) for j in jobs[:PAGE_SIZE]], page_number=max(1, page_number),
        has_next=len(jobs) > PAGE_SIZE, smtp=bool(request.app.state.settings.smtp_url))


class MailController(Controller):
    path = "/mail"
    guards = [requires_admin]

    @get("/")
    async def mail_page(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                        page_number: PageNumber = 1) -> Template:
        return await _mail_page(request, tenant_scope, page_number)

    @get("/log")
    async def log_page(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                       page_number: PageNumber = 1) -> Template:
        limit, offset = page_window(page_number)
        entries = await logged_mail(tenant_scope, limit=limit, offset=offset)
        return await page(request, "interviews/mail_log.html", entries=entries[:PAGE_SIZE],
                          page_number=max(1, page_number), has_next=len(entries) > PAGE_SIZE)

    @post("/sender", media_type=MediaType.HTML)
    async def change_sender(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                            tenant_row: NamedDependency[Tenant], data: Form) -> Any:
        try:
            row = await set_sender(tenant_scope, request.app.state.storage, tenant_row, text(data, "address"))
        except ValueError as exc:
            return await _mail_page(request, tenant_scope, 1, status_code=400, error=str(exc))
        await audit.record("mail.sender_set", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=row.address, detail={"selector": row.selector}, ip=audit.client_ip(request))
        flash(request, N_("The sender address was saved."))
        return Redirect(f"/t/{tenant_row.slug}/mail/")

    @post("/privacy", media_type=MediaType.HTML)
    async def change_privacy_policy(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                                    tenant_row: NamedDependency[Tenant], data: Form) -> Any:
        """The privacy policy the consent page links to: an http(s) address, or empty for none."""
        url = text(data, "privacy_policy_url")
        if url and (not re.fullmatch(r"https?://[^\s<>\"']+", url) or len(url) > 500):
            return await _mail_page(request, tenant_scope, 1, status_code=400,
                                    error=_("The privacy policy must be an address starting with https:// or http://."))
        await set_privacy_policy_url(tenant_scope.tenant_id, url)
        await audit.record("tenant.privacy_policy_set", tenant_id=tenant_scope.tenant_id, actor=request.user,
                           target=url, ip=audit.client_ip(request))
        return Redirect(f"/t/{tenant_row.slug}/mail/")

    @post("/failed/{job_id:uuid}/retry")
    async def retry(self, request: Request, tenant_scope: NamedDependency[TenantScope],
                    tenant_row: NamedDependency[Tenant], job_id: FromPath[UUID]) -> Redirect:
        job = await tenant_scope.get(Job, job_id)
        args = json_value(job.args)
        if job.actor == "core.send_mail" and job.state == "failed" and job.message != RESENT:
            await queue_mail(request.app.state.tasks, tenant_id=tenant_row.id, message=args["message"],
                             kind=args.get("kind", ""))
            await tenant_scope.update(Job, {Job.message: RESENT}).where(Job.id == job.id)
            await audit.record("mail.resent", tenant_id=tenant_scope.tenant_id, actor=request.user,
                               target=str(job.id), ip=audit.client_ip(request))
            flash(request, N_("The mail is being sent again."))
        return Redirect(f"/t/{tenant_row.slug}/mail/")
