"""Staff edits of a transcript that the try-out broke: two tabs editing the same transcript, a refused
edit that threw away what was typed, text that only looks like a sentence, and a forged notice."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

from core.db.tables import TranscriptRecord
from core.interviews.api import store_transcript, transcript_of
from core.transcripts import Segment, Transcript
from tests.conftest import HTML, form_csrf, login
from tests.interview_fixtures import make_interview
from tests.test_speech_jobs import SEGMENTS, add_recording, speech  # noqa: F401  (speech: the fixture)
from tests.video_files import make_video

THREE = (Segment(0.0, 2.5, "前職では法人営業を担当しました。", 0.9),
         Segment(3.0, 5.0, "紹介の契約が二割増えました。", 0.8),
         Segment(5.5, 7.0, "チームで新しい商品を企画しました。", 0.8))


def form_of(page_html: str) -> dict[str, str]:
    """The edit form's fields as the browser would send them unchanged (texts, revision, CSRF)."""
    fields = {name: html.unescape(text) for name, text in
              re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', page_html)}
    [revision] = re.findall(r'name="revision" value="(\d+)"', page_html)
    return {**fields, "revision": revision, "_csrf_token": form_csrf(page_html)}


async def open_transcript(tenant, make_user, storage, tmp_path, segments=THREE):
    setup = await make_interview(tenant, make_user, kind="self")
    rec = await add_recording(setup["scope"], storage, tenant, setup["interview"], make_video(tmp_path / "面接.mp4"))
    await store_transcript(setup["scope"], rec.id, Transcript("ja", "faster-whisper:base", segments))
    return setup, rec, f"/t/{tenant.slug}/speech/recordings/{rec.id}"


async def test_an_edit_from_a_tab_opened_before_another_edit_is_refused_and_loses_neither(
        speech, app, client, make_tenant, make_user, storage, tmp_path):
    tenant = await make_tenant()
    setup, rec, base = await open_transcript(tenant, make_user, storage, tmp_path)
    await login(client, tenant, setup["admin"])  # reads Japanese
    first_tab = form_of((await client.get(base, headers=HTML)).text)
    second_tab = form_of((await client.get(base, headers=HTML)).text)

    # The first tab removes the first sentence; the second, opened before, corrects that same first sentence.
    removed = await client.post(f"{base}/edit", headers=HTML, follow_redirects=False,
                                data={**first_tab, "remove-0": "1"})
    assert removed.status_code == 303
    stale = await client.post(f"{base}/edit", headers=HTML, follow_redirects=False,
                              data={**second_tab, "segment-0": "前職では法人営業を七年間担当しました。"})
    assert stale.status_code == 409
    assert "別の人が" in stale.text and "保存していません" in stale.text
    assert "前職では法人営業を七年間担当しました。" in stale.text  # what was typed is still on the page
    # Neither the corrected text landed on the sentence that moved up, nor did the removed one come back.
    assert (await transcript_of(setup["scope"], rec.id)).segments == THREE[1:]
    assert await TranscriptRecord.count().where(TranscriptRecord.recording_id == rec.id) == 2


async def test_an_edit_without_the_revision_it_was_made_on_is_refused(speech, app, client, make_tenant, make_user,
                                                                      storage, tmp_path):
    tenant = await make_tenant()
    setup, rec, base = await open_transcript(tenant, make_user, storage, tmp_path)
    await login(client, tenant, setup["admin"])
    form = form_of((await client.get(base, headers=HTML)).text)
    for revision in (None, "", "abc", "-1"):
        data = {**form, "segment-1": "紹介の契約が三割増えました。"}
        if revision is None:
            del data["revision"]
        else:
            data["revision"] = revision
        answer = await client.post(f"{base}/edit", headers=HTML, follow_redirects=False, data=data)
        assert answer.status_code == 409, revision
    assert await TranscriptRecord.count().where(TranscriptRecord.recording_id == rec.id) == 1


async def test_a_refused_edit_keeps_every_correction_that_was_typed(speech, app, client, make_tenant, make_user,
                                                                    storage, tmp_path):
    tenant = await make_tenant()
    setup, rec, base = await open_transcript(tenant, make_user, storage, tmp_path)
    await login(client, tenant, setup["interviewer"])  # reads English
    form = form_of((await client.get(base, headers=HTML)).text)
    refused = await client.post(f"{base}/edit", headers=HTML, follow_redirects=False, data={
        **form, "segment-0": "前職では法人営業を七年間担当しました。", "segment-1": "紹介の\x07契約", "remove-2": "1"})
    assert refused.status_code == 400 and "control character" in refused.text
    assert re.search(r'name="segment-0"[^>]*>前職では法人営業を七年間担当しました。</textarea>', refused.text)
    assert re.search(r'name="remove-2" value="1" checked', refused.text)
    # The language switch of that page leads back to the page (a GET of the edit's address is 405).
    [switch] = re.findall(r'href="/lang/ja\?next=([^"]+)"', refused.text)
    assert unquote(switch) == base
    # An API client gets the reason as problem JSON.
    api = await client.post(f"{base}/edit", follow_redirects=False, data={**form, "segment-1": ""})
    assert api.status_code == 400 and api.headers["content-type"].startswith("application/problem+json")
    assert "left empty" in api.json()["detail"]
    assert await TranscriptRecord.count().where(TranscriptRecord.recording_id == rec.id) == 1  # nothing stored


async def test_a_sentence_of_invisible_or_direction_overriding_characters_is_refused(
        speech, app, client, make_tenant, make_user, storage, tmp_path):
    tenant = await make_tenant()
    setup, rec, base = await open_transcript(tenant, make_user, storage, tmp_path)
    await login(client, tenant, setup["admin"])
    form = form_of((await client.get(base, headers=HTML)).text)
    for text, message in (("\u200b", "空欄の文があります"), ("\u200b\u2060\ufeff \u3000", "空欄の文があります"),
                          ("契約は\u202e五割\u202c増えました。", "制御文字"),
                          ("契約は\u2067増えました。", "制御文字")):
        answer = await client.post(f"{base}/edit", headers=HTML, follow_redirects=False,
                                   data={**form, "segment-1": text})
        assert answer.status_code == 400 and message in answer.text, ascii(text)
    assert await TranscriptRecord.count().where(TranscriptRecord.recording_id == rec.id) == 1
    # Right-to-left text itself, emoji joined with ZWJ, and the marks that set a direction are kept.
    kept = {"segment-0": "مرحبا\u200f 前職では👩\u200d💻営業を担当しました。"}
    saved = await client.post(f"{base}/edit", headers=HTML, follow_redirects=False, data={**form, **kept})
    assert saved.status_code == 303
    assert (await transcript_of(setup["scope"], rec.id)).segments[0].text == kept["segment-0"]


async def test_the_saved_notice_shows_only_a_revision_number(speech, app, client, make_tenant, make_user,
                                                             storage, tmp_path):
    tenant = await make_tenant()
    setup, rec, base = await open_transcript(tenant, make_user, storage, tmp_path)
    await login(client, tenant, setup["interviewer"])
    for forged in ("%E7%AE%A1%E7%90%86%E8%80%85%E3%81%AB%E9%80%A3%E7%B5%A1", "-1", "1e9"):
        page = await client.get(f"{base}?saved={forged}", headers=HTML)
        assert page.status_code == 200 and "saved as revision" not in page.text, forged
    page = await client.get(f"{base}?saved=2", headers=HTML)
    assert "saved as revision 2" in page.text
