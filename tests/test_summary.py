"""summary: answers built from known sentences keep the ones with figures, each linked to the second
it was said; an outside chat-completions endpoint is used where set and never costs the summary."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from billing.tables import UsageRow
from core.hookspecs import hookimpl
from core.transcripts import Segment, Transcript, Word
from plugins.summary import plugin as summary_plugin
from plugins.summary.extractive import ExtractiveSummariser, has_figure
from plugins.summary.settings import SummarySettings
from plugins.summary.summaries import (
    INTERVIEWS, interview_summary, summariser_for, summarise, summarise_interview, timed_sentences,
)

FIGURES_JA = (
    "私が担当した地域では、売上を前年比で二割伸ばしました。",
    "新規のお客様を一年で三十社開拓しました。",
    "問い合わせへの回答時間を平均48時間から12時間に短縮しました。",
)
OTHERS_JA = (
    "前職では法人向けの営業を担当していました。",
    "チームの雰囲気はとても良かったと思います。",
    "お客様との信頼関係を何よりも大切にしてきました。",
    "はい。",
    "毎週、チームで勉強会を開いていました。",
    "営業の仕事は、お客様の話を聞くことから始まると考えています。",
    "御社でも、お客様に寄り添う営業を続けたいと思っています。",
)
ORDER_JA = (OTHERS_JA[0], OTHERS_JA[1], FIGURES_JA[0], OTHERS_JA[2], OTHERS_JA[3], FIGURES_JA[1], OTHERS_JA[4],
            OTHERS_JA[5], FIGURES_JA[2], OTHERS_JA[6])
ENGLISH = ("I worked in sales for a software company.", "We had a friendly team.",
           "I grew revenue in my region by 20 percent in two years.", "I enjoy talking to customers.",
           "We met every week to share what we learned.", "I cut our response time from two days to four hours.",
           "I would like to continue this work at your company.")


def transcript_of(sentences, language="ja", seconds=4.0) -> Transcript:
    """One segment per sentence, each `seconds` long, back to back."""
    return Transcript(language, "test", tuple(Segment(i * seconds, (i + 1) * seconds, text)
                                              for i, text in enumerate(sentences)))


def test_japanese_answer_summary_keeps_the_sentences_that_carry_figures():
    result = summarise_interview([("rec-1", transcript_of(ORDER_JA))], SummarySettings(sentences_per_answer=3))

    answer = result["answers"]["rec-1"]
    assert [s.text for s in answer.sentences] == [FIGURES_JA[0], FIGURES_JA[1], FIGURES_JA[2]]
    assert [s.start for s in answer.sentences] == [8.0, 20.0, 32.0]  # where each was said: play from there
    assert {s.recording_id for s in answer.sentences} == {"rec-1"} and answer.provider == "extractive:lexrank"


def test_english_answer_summary_keeps_the_figures_in_spoken_order():
    summary = summarise(timed_sentences(transcript_of(ENGLISH, "en")), "en", 2)

    assert [s.text for s in summary.sentences] == [ENGLISH[2], ENGLISH[5]]


def test_figures_are_found_in_kanji_digits_and_words():
    assert has_figure("売上を二割伸ばしました。", "ja") and has_figure("3人のチームです。", "ja")
    assert not has_figure("お客様を大切にしています。", "ja")
    assert has_figure("We doubled sales in two years.", "en") and not has_figure("I like people.", "en")


def test_whole_interview_summary_draws_from_every_answer_with_its_recording():
    transcripts = [("rec-1", transcript_of(ORDER_JA[:5])), ("rec-2", transcript_of(ORDER_JA[5:]))]

    result = summarise_interview(transcripts, SummarySettings(sentences_per_interview=3))

    picked = result["interview"].sentences
    assert [(s.text, s.recording_id) for s in picked] == [
        (FIGURES_JA[0], "rec-1"), (FIGURES_JA[1], "rec-2"), (FIGURES_JA[2], "rec-2")]


def test_a_sentence_split_over_segments_starts_at_its_first_word():
    transcript = Transcript("ja", "faster-whisper:base", (
        Segment(10.0, 13.0, "前職では営業チームの", words=(Word(10.0, 10.6, "前職"), Word(10.6, 11.0, "では"),
                                                       Word(11.2, 12.0, "営業"), Word(12.0, 13.0, "チームの"))),
        Segment(13.5, 16.0, "リーダーでした。売上は二割伸びました。"),
    ))

    sentences = timed_sentences(transcript, "rec-9")

    assert [s.text for s in sentences] == ["前職では営業チームのリーダーでした。", "売上は二割伸びました。"]
    assert sentences[0].start == 10.0
    assert 13.5 < sentences[1].start < 16.0  # interpolated inside its segment


def test_silence_gives_an_empty_summary_not_an_error():
    result = summarise_interview([("rec-1", Transcript("ja", "test"))], SummarySettings())

    assert result["interview"].sentences == () and result["answers"]["rec-1"].sentences == ()


class FakeChatCompletions:
    """A local server speaking OpenAI's chat-completions wire format; `delay_s` makes it slow."""

    def __init__(self, content: str, delay_s: float = 0.0, status: int = 200) -> None:
        self.requests: list[tuple[dict, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append((dict(self.headers), body))
                time.sleep(delay_s)
                payload = json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except BrokenPipeError:  # the client gave up waiting: what the timeout test wants
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_chat_completions_summary_is_used_and_linked_to_where_it_was_said():
    fake = FakeChatCompletions("担当地域の売上を前年比で二割伸ばした。")
    try:
        settings = SummarySettings(provider="chat_completions", endpoint=fake.url, model="summ-1", api_key="sk-test")
        summary = summarise(timed_sentences(transcript_of(ORDER_JA)), "ja", 3, summariser_for(settings))
    finally:
        fake.close()

    headers, body = fake.requests[0]
    assert headers["Authorization"] == "Bearer sk-test" and body["model"] == "summ-1"
    assert [m["role"] for m in body["messages"]] == ["system", "user"] and FIGURES_JA[0] in body["messages"][1]["content"]
    assert summary.provider == "chat-completions:summ-1"
    assert [(s.text, s.start) for s in summary.sentences] == [("担当地域の売上を前年比で二割伸ばした。", 8.0)]


@pytest.mark.parametrize("fake_args", [{"content": "遅い要約。", "delay_s": 3.0}, {"content": "x", "status": 500},
                                       {"content": ""}])
def test_a_slow_or_failing_endpoint_falls_back_to_the_extractive_summary(fake_args):
    fake = FakeChatCompletions(**fake_args)
    try:
        settings = SummarySettings(provider="chat_completions", endpoint=fake.url, model="m", timeout_s=1.0)
        summary = summarise(timed_sentences(transcript_of(ORDER_JA)), "ja", 3, summariser_for(settings))
    finally:
        fake.close()

    assert fake.requests and summary.provider == "extractive:lexrank"
    assert [s.text for s in summary.sentences] == list(FIGURES_JA)


def test_the_default_is_offline_and_extractive():
    assert isinstance(summariser_for(SummarySettings()), ExtractiveSummariser)
    assert isinstance(summariser_for(SummarySettings(provider="chat_completions")), ExtractiveSummariser)


async def test_a_summarised_interview_is_metered_once(host, app, make_tenant):
    host.register(summary_plugin, key="summary")
    tenant = await make_tenant()
    interview_id = uuid.uuid4()
    transcripts = [("rec-1", transcript_of(ORDER_JA))]

    first = await interview_summary(tenant.id, interview_id, transcripts)
    await interview_summary(tenant.id, interview_id, transcripts)
    await interview_summary(tenant.id, uuid.uuid4(), [("rec-2", Transcript("ja", "test"))])  # no speech: no bill

    assert set(FIGURES_JA) <= {s.text for s in first["interview"].sentences}
    rows = await UsageRow.select(UsageRow.meter, UsageRow.quantity).where(UsageRow.tenant == tenant.id)
    assert rows == [{"meter": INTERVIEWS, "quantity": 1}]


async def test_a_plugin_summariser_answers_first(host, app, make_tenant):
    class FirstSentence:
        name = "first-sentence"

        def summarise(self, sentences, language, limit):
            return sentences[:1]

    class Provider:
        @hookimpl
        def mendan_plugin_meta(self):
            from core.plugins import PluginMeta

            return PluginMeta(key="summ_x", name_ja="要約X", name_en="Summary X", version="1", kind="basic",
                              hours="batch")

        @hookimpl
        def mendan_summariser(self, tenant_id, language):
            return FirstSentence()

    host.register(summary_plugin, key="summary")
    host.register(Provider(), key="summ_x")
    tenant = await make_tenant()

    result = await interview_summary(tenant.id, uuid.uuid4(), [("rec-1", transcript_of(ORDER_JA))])

    assert result["interview"].provider == "first-sentence"
    assert [s.text for s in result["interview"].sentences] == [ORDER_JA[0]]


async def test_a_summary_is_stored_and_made_again_only_when_a_transcript_changes(host, app, make_tenant,
                                                                                 monkeypatch):
    from core.runtime import runtime
    from plugins.summary import summaries

    host.register(summary_plugin, key="summary")
    tenant = await make_tenant()
    interview_id = uuid.uuid4()
    made = []
    make = summaries.summarise_interview
    monkeypatch.setattr(summaries, "summarise_interview", lambda *args: made.append(args) or make(*args))
    transcripts = [("rec-1", transcript_of(ORDER_JA))]

    first = await interview_summary(tenant.id, interview_id, transcripts)
    again = await interview_summary(tenant.id, interview_id, transcripts)

    assert len(made) == 1 and again == first
    blob = runtime().storage.root / str(tenant.id) / "summary" / f"{interview_id}.json"
    assert FIGURES_JA[0].encode() not in blob.read_bytes()  # sealed with the tenant's key
    # A staff edit stores a new revision: the summary is made again from it.
    edited = (*ORDER_JA[:-1], "最後に、紹介の契約は三割増えました。")
    after = await interview_summary(tenant.id, interview_id, [("rec-1", transcript_of(edited))])
    assert len(made) == 2 and "最後に、紹介の契約は三割増えました。" in {s.text for s in after["interview"].sentences}
    assert await interview_summary(tenant.id, interview_id, [("rec-1", transcript_of(edited))]) == after
    assert len(made) == 2
    blob.write_bytes(b"damaged")  # a damaged stored copy is made again, not an error
    assert await interview_summary(tenant.id, interview_id, [("rec-1", transcript_of(edited))]) == after
    assert len(made) == 3


async def test_a_summary_that_fell_back_after_a_provider_failure_is_not_stored(host, app, make_tenant):
    class Failing:
        name = "failing"

        def summarise(self, sentences, language, limit):
            raise TimeoutError("the endpoint did not answer")

    class Provider:
        @hookimpl
        def mendan_plugin_meta(self):
            from core.plugins import PluginMeta

            return PluginMeta(key="summ_f", name_ja="要約F", name_en="Summary F", version="1", kind="basic",
                              hours="batch")

        @hookimpl
        def mendan_summariser(self, tenant_id, language):
            return Failing()

    from core.runtime import runtime

    host.register(summary_plugin, key="summary")
    host.register(Provider(), key="summ_f")
    tenant = await make_tenant()
    interview_id = uuid.uuid4()

    result = await interview_summary(tenant.id, interview_id, [("rec-1", transcript_of(ORDER_JA))])

    assert result["interview"].provider == "extractive:lexrank" and result["interview"].sentences
    assert not (runtime().storage.root / str(tenant.id) / "summary" / f"{interview_id}.json").exists()
