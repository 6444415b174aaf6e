"""Consent before camera and microphone use (spec 4.2), for the interviews domain and plugins.

Purposes: `recording` (video and audio are captured and analysed) and `training` (an
expert's interviews and evaluations build the AI model). The tenants domain keeps the
versioned texts and who accepted which (`tenants.consent`); the assembly
(`mendan.assembly`) registers it with `set_consent_register`, so the core, the interviews
domain and plugins ask here and never import the tenants domain.
"""

from __future__ import annotations

from typing import Any, Protocol


class ConsentRegister(Protocol):
    """Where consent texts and answers are kept (`tenants.consent` is one)."""

    async def current_consent(self, tenant_id: Any, purpose: str) -> Any: ...

    async def record_consent(self, tenant_id: Any, user_id: Any, purpose: str, version: int, ip: str = "",
                             source: str = "") -> Any: ...

    async def has_consented(self, tenant_id: Any, user_id: Any, purpose: str) -> bool: ...

    async def consent_terms(self, tenant_id: Any) -> dict[str, Any]: ...

    async def set_privacy_policy_url(self, tenant_id: Any, url: str) -> None: ...


_register: ConsentRegister | None = None


def set_consent_register(register: ConsentRegister) -> None:
    """Who keeps consent; the assembly sets the tenants domain once per process."""
    global _register
    _register = register


def _kept() -> ConsentRegister:
    if _register is None:
        raise RuntimeError("no consent register: build the process with mendan.assembly.assemble")
    return _register


async def current_consent(tenant_id: Any, purpose: str) -> Any:
    """The newest text of the purpose (`version`, `text_ja`, `text_en`); `LookupError` for an unknown purpose."""
    return await _kept().current_consent(tenant_id, purpose)


async def record_consent(tenant_id: Any, user_id: Any, purpose: str, version: int, ip: str = "",
                         source: str = "") -> Any:
    """Keep that the user accepted this version of the purpose's text (with the client's address).

    `source` is "" when the user accepted it here; otherwise how it was obtained elsewhere, as an
    admin declared it (a bulk import of past interviews: "signed forms, HR dept., 2024").
    `LookupError` when no such version exists."""
    return await _kept().record_consent(tenant_id, user_id, purpose, version, ip, source)


async def has_consented(tenant_id: Any, user_id: Any, purpose: str) -> bool:
    """True only when the user accepted the current version of the purpose's text."""
    return await _kept().has_consented(tenant_id, user_id, purpose)


async def consent_terms(tenant_id: Any) -> dict[str, Any]:
    """What the consent page states beside the text: retention (`ends_on`, `grace_days`,
    `purge_on`: dates or None), `contact_name`, `contact_email` and `privacy_policy_url` ("" when unset)."""
    return await _kept().consent_terms(tenant_id)


async def set_privacy_policy_url(tenant_id: Any, url: str) -> None:
    """Keep the tenant's privacy policy address linked from the consent page ("" removes it);
    the caller checks it is an http(s) URL."""
    await _kept().set_privacy_policy_url(tenant_id, url)
