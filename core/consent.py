"""Consent before camera and microphone use (spec 4.2), as plugins ask for it.

The tenants domain keeps the versioned texts and who accepted which (`tenants.consent`);
the assembly (`mendan.assembly`) registers its check with `set_consent_check`, so plugins
and the core ask here and never import a domain. Purposes: `recording` (video and audio
are captured and analysed) and `training` (an expert's interviews build the AI model).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

ConsentCheck = Callable[[Any, Any, str], Awaitable[bool]]  # (tenant_id, user_id, purpose) -> consented

_check: ConsentCheck | None = None


def set_consent_check(check: ConsentCheck) -> None:
    """Who answers `has_consented`; the assembly sets the tenants domain's check once per process."""
    global _check
    _check = check


async def has_consented(tenant_id: Any, user_id: Any, purpose: str) -> bool:
    """True only when the user accepted the current version of the purpose's consent text.

    An unknown purpose raises `LookupError`; RuntimeError when no check was registered (a
    process not built by `mendan.assembly`).
    """
    if _check is None:
        raise RuntimeError("no consent check registered: build the process with mendan.assembly.assemble")
    return await _check(tenant_id, user_id, purpose)
