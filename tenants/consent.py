"""Consent before camera and microphone use (spec 4.2): versioned texts per tenant
and purpose, and who accepted which version, when, from where.

Purposes: `recording` (video and audio of an interview are captured and
analysed) and `training` (an expert interviewer's interviews and evaluations
are used to build the tenant's AI model); the spec asks for separate consent.
A tenant without a text for a purpose gets the default below as version 1.
"""

from __future__ import annotations

from typing import Any

from core.db.constraints import is_unique_violation, retry_on_conflict, write_transaction
from core.tenancy import TenantScope
from tenants.contracts import purge_due
from tenants.hours import current_contract
from tenants.tables import ConsentRecord, ConsentText, TenantProfile

DEFAULT_TEXTS: dict[str, tuple[str, str]] = {
    "recording": (
        "この面談では、カメラとマイクで被面談者の映像と音声を記録します。"
        "記録した映像と音声は、面談の評価と、表情などの非言語情報と回答内容の分析に使い、"
        "評価を予測するAIモデルの構築と利用にも用います。記録は暗号化して保管し、"
        "契約終了後に削除します。同意いただける場合は「同意する」を押してください。",
        "This interview records the interviewee's video and audio with the camera and microphone. "
        "The recordings are used to evaluate the interview, to analyse non-verbal information "
        "such as facial expressions and the content of the answers, and to build and use an AI "
        "model that predicts evaluations. Recordings are stored encrypted and deleted after the "
        "contract ends. Press \"I agree\" if you consent.",
    ),
    "training": (
        "熟練面談者として行った面談の映像・音声と評価結果を、AIモデルの学習データとして使用し、"
        "構築したモデルで面談を行うことに同意します。学習データは暗号化して保管し、"
        "契約終了後に削除します。",
        "I agree that the video, audio and evaluations of the interviews I hold as an expert "
        "interviewer are used as training data for an AI model, and that interviews are held "
        "with the model built from them. Training data is stored encrypted and deleted after "
        "the contract ends.",
    ),
}


class UnknownConsent(LookupError):
    """No consent text of that purpose or version exists for the tenant."""


async def current_consent(tenant_id: Any, purpose: str) -> ConsentText:
    """The newest consent text of the purpose; the default becomes version 1 when there is none."""
    scope = TenantScope(tenant_id)
    text = await scope.objects(ConsentText).where(ConsentText.purpose == purpose).order_by(
        ConsentText.version, ascending=False
    ).first()
    if text is not None:
        return text
    if purpose not in DEFAULT_TEXTS:
        raise UnknownConsent(f"no consent text for purpose {purpose!r}")
    text_ja, text_en = DEFAULT_TEXTS[purpose]
    try:
        return await scope.add(ConsentText(purpose=purpose, version=1, text_ja=text_ja, text_en=text_en))
    except Exception as exc:  # another request made version 1 at the same moment
        if not is_unique_violation(exc):
            raise
        return await scope.objects(ConsentText).where(
            (ConsentText.purpose == purpose) & (ConsentText.version == 1)).first()


async def publish_consent(tenant_id: Any, purpose: str, text_ja: str, text_en: str) -> ConsentText:
    """A new version of the purpose's text; everyone must consent again. Versions stay distinct
    under concurrent publishing (unique (tenant, purpose, version), retried)."""
    async def insert_next() -> ConsentText:
        async with write_transaction():
            current = await current_consent(tenant_id, purpose)
            return await TenantScope(tenant_id).add(
                ConsentText(purpose=purpose, version=current.version + 1, text_ja=text_ja, text_en=text_en)
            )

    return await retry_on_conflict(insert_next)


async def record_consent(tenant_id: Any, user_id: Any, purpose: str, version: int, ip: str = "",
                         source: str = "") -> ConsentRecord:
    """Keep that the user accepted this version of the purpose's text; `source`: how it was
    obtained when not on the consent page (an admin's declaration in a bulk import)."""
    scope = TenantScope(tenant_id)
    text = await scope.objects(ConsentText).where(
        (ConsentText.purpose == purpose) & (ConsentText.version == version)
    ).first()
    if text is None:
        raise UnknownConsent(f"no consent text {purpose!r} version {version}")
    # One record per user and text (a unique index): a second click keeps the first acceptance.
    existing = await scope.objects(ConsentRecord).where(
        (ConsentRecord.user == user_id) & (ConsentRecord.consent_text == text.id)).first()
    if existing is not None:
        return existing
    try:
        return await scope.add(
            ConsentRecord(user=user_id, consent_text=text.id, purpose=purpose, version=version, ip=ip,
                          source=source[:1000])
        )
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        return await scope.objects(ConsentRecord).where(
            (ConsentRecord.user == user_id) & (ConsentRecord.consent_text == text.id)).first()


async def has_consented(tenant_id: Any, user_id: Any, purpose: str) -> bool:
    """True only when the user accepted the current version of the purpose's text."""
    current = await current_consent(tenant_id, purpose)
    return await TenantScope(tenant_id).count(ConsentRecord).where(
        (ConsentRecord.user == user_id) & (ConsentRecord.consent_text == current.id)
    ) > 0


async def consent_terms(tenant_id: Any) -> dict[str, Any]:
    """What the consent page states beside the text: `ends_on` (date or None: the contract has no
    end yet), `grace_days` (int, or None for one calendar month), `purge_on` (the deletion day or
    None), and the profile's `contact_name`, `contact_email`, `privacy_policy_url` ("" when unset)."""
    contract = await current_contract(tenant_id)
    profile = await TenantScope(tenant_id).objects(TenantProfile).first()
    return {
        "ends_on": contract.ends_on if contract else None,
        "grace_days": contract.retention_grace_days if contract else None,
        "purge_on": purge_due(contract) if contract else None,
        "contact_name": profile.contact_name if profile else "",
        "contact_email": profile.contact_email if profile else "",
        "privacy_policy_url": profile.privacy_policy_url if profile else "",
    }


async def set_privacy_policy_url(tenant_id: Any, url: str) -> None:
    """Keep the tenant's privacy policy address (an http(s) URL, or "" for none); a profile row
    is made when the tenant has none."""
    scope = TenantScope(tenant_id)
    if await scope.objects(TenantProfile).first() is None:
        await scope.add(TenantProfile(privacy_policy_url=url))
    else:
        await scope.update(TenantProfile, {TenantProfile.privacy_policy_url: url})
