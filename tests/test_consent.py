"""Consent texts per tenant and purpose, versioned; a record of who accepted which version."""

import pytest

from tenants.consent import UnknownConsent, current_consent, has_consented, publish_consent, record_consent


async def test_a_tenant_without_a_text_gets_the_default_in_both_languages(make_tenant):
    tenant = await make_tenant()
    text = await current_consent(tenant.id, "recording")
    assert text.version == 1
    assert "映像" in text.text_ja and "音声" in text.text_ja and "AIモデル" in text.text_ja
    assert "video" in text.text_en and "audio" in text.text_en and "AI model" in text.text_en
    assert (await current_consent(tenant.id, "recording")).id == text.id


async def test_consent_counts_only_for_the_current_version(make_tenant, make_user):
    tenant = await make_tenant()
    user = await make_user(tenant, "interviewee")
    assert not await has_consented(tenant.id, user.id, "recording")
    await record_consent(tenant.id, user.id, "recording", 1, "192.0.2.1")
    assert await has_consented(tenant.id, user.id, "recording")
    assert not await has_consented(tenant.id, user.id, "training")
    await publish_consent(tenant.id, "recording", "新しい文面", "New wording")
    assert not await has_consented(tenant.id, user.id, "recording")
    await record_consent(tenant.id, user.id, "recording", 2)
    assert await has_consented(tenant.id, user.id, "recording")


async def test_consent_to_a_version_that_does_not_exist_is_refused(make_tenant, make_user):
    tenant, other = await make_tenant(), await make_tenant()
    user = await make_user(tenant, "interviewee")
    await publish_consent(other.id, "recording", "他社", "Other")  # other tenant has version 2
    with pytest.raises(UnknownConsent):
        await record_consent(tenant.id, user.id, "recording", 2)
    with pytest.raises(UnknownConsent):
        await current_consent(tenant.id, "marketing")
