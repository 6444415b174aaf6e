"""Mail templates per tenant and language: the kinds of templated mail with their placeholders,
the tenant's own text (the MailTemplate table) or the shipped default (core.mail_template_defaults),
checking a new text, and rendering.

Templates are Jinja2 run in its sandbox, so a tenant admin's text can read only the values it is
given, and in a small subset of the language (`_refuse_costly`): placeholders, `if`, `set`, a few
text filters. No loops, macros, multiplication or large numbers, and no globals (`range`,
`lipsum`, `cycler`): one preview must never keep the web process busy or fill its memory, and the
rendered text is bounded (RENDERED_LENGTH). Autoescape is off: the mail is text/plain, where HTML entities would show as typed. A
subject is one line: CR or LF in it is refused when saved and when rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import structlog
from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from core.db.tables import MailContact, MailTemplate
from core.mail_template_defaults import DEFAULTS
from core.tenancy import TenantScope
from core.text_input import TextProblem, clean_text
from core.web.i18n import LANGUAGES
from core.web.i18n import gettext as _

log = structlog.get_logger("mendan.mail_templates")
SUBJECT_LENGTH = 200
BODY_LENGTH = 10_000
RENDERED_LENGTH = 50_000  # characters of a rendered body; the placeholders' values are short
LARGEST_NUMBER = 1000  # bounds what a filter argument such as center(n) or truncate(n) can make
SAFE_FILTERS = ("default", "d", "upper", "lower", "title", "capitalize", "trim", "replace", "truncate", "center",
                "length", "string", "int", "first", "last", "join")
COSTLY = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Mul, nodes.Pow, nodes.FloorDiv, nodes.Div, nodes.Mod,
          nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
_INTERVIEW_VALUES = ("name", "company", "title", "date", "closes", "minutes", "format", "self_interview",
                     "candidate", "link", "contact")


@dataclass(frozen=True)
class MailKind:
    """One kind of templated mail: its key, its name (a msgid) and the placeholders it may use."""

    key: str
    label: str
    placeholders: tuple[str, ...]


KINDS: dict[str, MailKind] = {k.key: k for k in (
    MailKind("interview_scheduled", "Interview scheduled", _INTERVIEW_VALUES),
    MailKind("interview_rescheduled", "Interview moved", _INTERVIEW_VALUES),
    MailKind("interview_reminder", "Reminder the day before", _INTERVIEW_VALUES),
    MailKind("interview_cancelled", "Interview cancelled", _INTERVIEW_VALUES),
    MailKind("expert_assignment", "Request to an expert to evaluate",
             ("name", "company", "title", "date", "format", "link", "queue_link", "contact")),
    MailKind("staff_invitation", "Invitation of a staff member",
             ("name", "company", "role", "link", "valid_days", "contact")),
)}


class MailTemplateProblem(ValueError):
    """A template text was refused; the message (translated) says which field and why."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body: str


_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                            keep_trailing_newline=True)
_env.globals.clear()
_env.filters = {name: _env.filters[name] for name in SAFE_FILTERS}
_env.tests = {name: _env.tests[name] for name in ("defined", "undefined", "none", "number", "string")}


def default_text(kind: str, language: str) -> tuple[str, str]:
    """The shipped (subject, body) of `kind` in `language` (ja when the language has none)."""
    texts = DEFAULTS[kind]
    return texts.get(language, texts["ja"])


async def stored_text(scope: TenantScope, kind: str, language: str) -> tuple[str, str] | None:
    row = await scope.objects(MailTemplate).where(
        (MailTemplate.kind == kind) & (MailTemplate.language == language)).first()
    return (row.subject, row.body) if row else None


async def own_templates(scope: TenantScope) -> set[tuple[str, str]]:
    """The (kind, language) pairs the tenant has its own text for."""
    rows = await scope.select(MailTemplate, MailTemplate.kind, MailTemplate.language)
    return {(row["kind"], row["language"]) for row in rows}


async def current_text(scope: TenantScope, kind: str, language: str) -> tuple[str, str]:
    """The (subject, body) the tenant sends for `kind` in `language`: its own or the default."""
    return await stored_text(scope, kind, language) or default_text(kind, language)


async def contact_of(scope: TenantScope, fallback: str) -> str:
    """Whom the tenant's mails and a candidate's closed-link page name for questions: the text an
    admin set (several lines), else the contact of the tenant's profile ("name <address>"), else
    `fallback` (its sender address)."""
    from core.consent import consent_terms  # the profile's contact is kept by the tenants domain

    row = await scope.objects(MailContact).first()
    if row and row.text:
        return row.text
    terms = await consent_terms(scope.tenant_id)
    if terms.get("contact_email"):
        return f"{terms.get('contact_name') or ''} <{terms['contact_email']}>".strip()
    return fallback


async def set_contact(scope: TenantScope, text: str) -> str:
    """Keep the tenant's contact (several lines allowed, at most 1000 characters); raises
    TextProblem with a translated reason."""
    text = clean_text(text, label=_("Contact"), max_length=1000, multiline=True, required=True)
    await scope.delete(MailContact)
    await scope.add(MailContact(text=text))
    return text


def _refuse_costly(parsed: nodes.Template, field: str) -> None:
    """MailTemplateProblem when the template uses more of Jinja2 than a mail needs (COSTLY nodes,
    numbers beyond LARGEST_NUMBER, the template's `self`)."""
    costly = next(parsed.find_all(COSTLY), None)
    big = next((c for c in parsed.find_all(nodes.Const)
                if isinstance(c.value, (int, float)) and abs(c.value) > LARGEST_NUMBER), None)
    own = next((n for n in parsed.find_all(nodes.Name) if n.name in ("self", "loop", "caller", "varargs")), None)
    if costly is not None or big is not None or own is not None:
        raise MailTemplateProblem(
            _("%(field)s uses more than mail templates allow: placeholders, if, set and simple filters only "
              "(no loops, macros, arithmetic or numbers over %(largest)s).")
            % {"field": field, "largest": LARGEST_NUMBER})


def _compile(source: str, kind: MailKind, field: str):
    try:
        parsed = _env.parse(source)
    except TemplateError as exc:
        raise MailTemplateProblem(_("%(field)s cannot be read as a template: %(reason)s")
                                  % {"field": field, "reason": exc.message or str(exc)}) from None
    _refuse_costly(parsed, field)
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(kind.placeholders))
    if unknown:
        raise MailTemplateProblem(
            _("%(field)s uses unknown placeholders: %(names)s. Use only: %(allowed)s.")
            % {"field": field, "names": ", ".join(unknown), "allowed": ", ".join(kind.placeholders)})
    return _env.from_string(parsed)


def check(kind_key: str, subject: str, body: str) -> tuple[str, str]:
    """The cleaned (subject, body) when both are templates `kind_key` can render; otherwise
    MailTemplateProblem (a syntax error, an unknown placeholder, a line break in the subject,
    too long, or a failure when rendered with sample values)."""
    try:
        subject = clean_text(subject, label=_("Subject"), max_length=SUBJECT_LENGTH, required=True)
        body = clean_text(body, label=_("Body"), max_length=BODY_LENGTH, multiline=True, required=True)
    except TextProblem as exc:
        raise MailTemplateProblem(str(exc)) from None
    body = body.replace("\r\n", "\n") + "\n"
    render(kind_key, subject, body, sample_values(kind_key, "ja", "Example Inc.", "hr@example.com"))
    return subject, body


def render(kind_key: str, subject: str, body: str, values: dict[str, Any]) -> RenderedMail:
    """`subject` and `body` rendered with `values`; MailTemplateProblem when they are not
    templates of `kind_key`, fail to render, or the subject comes out with a line break."""
    kind = KINDS[kind_key]
    subject_template = _compile(subject, kind, _("Subject"))
    body_template = _compile(body, kind, _("Body"))
    try:
        rendered_subject = subject_template.render(values).strip()
        rendered_body = body_template.render(values)
    except SecurityError:  # the sandbox's own message is English and names Python internals
        raise MailTemplateProblem(_("The template reads something that mail templates may not read; use only "
                                    "the placeholders listed.")) from None
    except Exception as exc:  # noqa: BLE001  (an admin's text may fail in any way: "a" + 1, an unknown filter)
        reason = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
        raise MailTemplateProblem(_("The template could not be rendered: %(reason)s") % {"reason": reason}) from None
    if len(rendered_body) > RENDERED_LENGTH or len(rendered_subject) > SUBJECT_LENGTH:
        raise MailTemplateProblem(_("The rendered mail is too long (at most %(max)s characters).")
                                  % {"max": RENDERED_LENGTH})
    if "\r" in rendered_subject or "\n" in rendered_subject:
        raise MailTemplateProblem(_("%(field)s contains a control character (such as a line break); remove it.")
                                  % {"field": _("Subject")})
    return RenderedMail(rendered_subject, rendered_body)


async def render_for(scope: TenantScope, kind_key: str, language: str, values: dict[str, Any]) -> RenderedMail:
    """The tenant's mail of `kind_key` in `language`, rendered with `values`. A tenant's own text
    that fails with these values (it was checked only with sample ones) gives way to the default,
    so the mail still goes out; MailTemplateProblem when the default fails too."""
    own = await stored_text(scope, kind_key, language)
    if own is not None:
        try:
            return render(kind_key, *own, values)
        except MailTemplateProblem as exc:
            log.warning("mail_template_failed", tenant_id=str(scope.tenant_id), kind=kind_key, language=language,
                        error=str(exc))
    return render(kind_key, *default_text(kind_key, language), values)


async def save(scope: TenantScope, kind_key: str, language: str, subject: str, body: str, user_id: Any) -> None:
    """Keep the tenant's own text of `kind_key` in `language` after `check`; nothing is kept when
    it raises MailTemplateProblem."""
    if kind_key not in KINDS or language not in LANGUAGES:
        raise MailTemplateProblem(_("No such mail template."))
    subject, body = check(kind_key, subject, body)
    async with scope.transaction():
        await scope.delete(MailTemplate).where((MailTemplate.kind == kind_key) & (MailTemplate.language == language))
        await scope.add(MailTemplate(kind=kind_key, language=language, subject=subject, body=body,
                                     updated_by=user_id, updated_at=datetime.now(timezone.utc)))


async def reset(scope: TenantScope, kind_key: str, language: str) -> None:
    """Go back to the shipped text of `kind_key` in `language`."""
    await scope.delete(MailTemplate).where((MailTemplate.kind == kind_key) & (MailTemplate.language == language))


def sample_values(kind_key: str, language: str, company: str, contact: str) -> dict[str, Any]:
    """Made-up values for a preview of `kind_key` in `language`, with the tenant's real company
    name and contact."""
    ja = language == "ja"
    values: dict[str, Any] = {
        "name": "山田 花子" if ja else "Hanako Yamada", "company": company, "contact": contact,
        "title": "営業職 一次面接" if ja else "Sales, first interview",
        "date": "2026-12-01 (火) 14:00 (日本時間)" if ja else "2026-12-01 (Tue) 14:00 (Japan time)",
        "closes": "2026-12-03 (木) 14:00 (日本時間)" if ja else "2026-12-03 (Thu) 14:00 (Japan time)",
        "minutes": 30, "format": "オンライン面談" if ja else "Online interview", "self_interview": False,
        "candidate": True, "link": "https://mendan.example/t/example/"
                                    + ("password-reset/EXAMPLE-LINK" if kind_key == "staff_invitation"
                                       else "join/EXAMPLE-LINK"),
        "queue_link": "https://mendan.example/t/example/interviews/to-evaluate",
        "role": "面談担当者" if ja else "interviewer", "valid_days": 7,
    }
    return {name: values[name] for name in KINDS[kind_key].placeholders}
