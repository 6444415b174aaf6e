"""Follow-up questions to self-interview answers: the offline template generator (Japanese and
English answers with known content), the provider hook, and the tenant's chat-completions
endpoint with its fallback."""

from __future__ import annotations

import json
import re
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.hookspecs import hookimpl
from core.plugins import PluginMeta
from core.transcripts import Segment, Transcript
from plugins.self_interview.followups import (
    FollowUp,
    continuative,
    follow_ups,
    japanese_phrases,
    template_follow_ups,
)
from plugins.self_interview.settings import SelfInterviewSettings

QUESTION_JA = "チームで成果を上げるために工夫したことを教えてください。"
# Situation (前職, 営業チーム), task (新規顧客が減っていた) and action (アンケート, 資料), but no result.
NO_RESULT_JA = ("前職では法人向けの営業チームにいました。新規顧客が減っていたので、"
                "私は顧客アンケートを実施し、提案資料を作り直しました。")
QUESTION_EN = "Tell me about a time you improved how your team worked."
NO_RESULT_EN = ("At my previous company our support team was slow to answer customers, which was a real problem. "
                "I introduced a weekly review meeting for the whole team.")
OFF_TOPIC = {"ja": "今日はいい天気ですね。好きな食べ物はラーメンです。",
             "en": "I like pizza and sunny weather."}


def transcript(text: str, language: str) -> Transcript:
    return Transcript(language=language, source="test", segments=(Segment(0.0, 10.0, text, 0.9),))


def test_a_japanese_answer_without_a_result_is_asked_for_the_result_of_what_was_done():
    asked = template_follow_ups(QUESTION_JA, NO_RESULT_JA, "ja")

    assert [f.missing for f in asked] == ["result"]
    first = asked[0]
    assert first.missing == "result" and first.provider == "templates"
    # It quotes what the candidate did, conjugated for the template, and asks for the result.
    assert first.source_phrase in ("顧客アンケートを実施する", "提案資料を作り直す")
    assert first.text.startswith(first.source_phrase + "ことで") and "結果" in first.text
    assert "結果" in first.reason and first.source_phrase in first.reason


def test_a_rise_that_was_the_problem_is_not_taken_for_the_result():
    answer = "システム開発の現場で、テストの工数が増えていました。私は自動テストの仕組みを導入しました。"

    asked = template_follow_ups(QUESTION_JA, answer, "ja")

    assert [f.missing for f in asked] == ["result"]
    assert asked[0].text.startswith("仕組みを導入することで")


def test_a_japanese_answer_without_an_action_is_asked_what_the_candidate_did():
    answer = "学生時代、サークルの新入部員が毎年減っていたことが課題でした。最終的に部員は二倍になりました。"

    asked = template_follow_ups("困難を乗り越えた経験を教えてください。", answer, "ja")

    assert asked and asked[0].missing == "action"
    assert asked[0].source_phrase in answer and f"「{asked[0].source_phrase}」" in asked[0].text
    assert "あなた自身" in asked[0].text


@pytest.mark.parametrize(("dictionary_form", "conjugation_type", "expected"), [
    ("書く", "五段-カ行", "書き"), ("読む", "五段-マ行", "読み"), ("作り直す", "五段-サ行", "作り直し"),
    ("話し合う", "五段-ワア行", "話し合い"), ("立てる", "下一段-タ行", "立て"), ("信じる", "上一段-ザ行", "信じ"),
    ("実施する", "サ行変格", "実施し"), ("来る", "カ行変格", "来"), ("ある", "文語ラ行変格", None),
])
def test_the_continuative_form_follows_the_conjugation_type(dictionary_form, conjugation_type, expected):
    assert continuative(dictionary_form, conjugation_type) == expected


def test_verb_phrases_of_an_answer_come_in_dictionary_and_continuative_forms_whatever_form_was_said():
    # 書いて (イ音便), 読んで (撥音便), 立て, 指導し: the forms said differ from the forms a template needs;
    # a passive or negative verb is not quoted (its dictionary form, 任す or 使う, would say the opposite).
    phrases = {p.dictionary: p.continuative for p in japanese_phrases(
        "私はマニュアルを書いて、過去の記録を読んで、計画を立て、後輩を指導しました。"
        "会議の司会を任されました。予算は使わなかった。") if p.kind == "verb"}

    assert phrases == {"マニュアルを書く": "マニュアルを書き", "記録を読む": "記録を読み", "計画を立てる": "計画を立て",
                       "後輩を指導する": "後輩を指導し"}


def test_a_complete_star_answer_is_asked_about_the_hard_part_with_the_verb_before_nagara():
    answer = ("アルバイト先のカフェで、新人のミスが多かったことが課題でした。私は手順のマニュアルを書いて、"
              "新人と一緒に練習しました。その結果、ミスは半分に減りました。")

    asked = template_follow_ups(QUESTION_JA, answer, "ja")

    assert len(asked) == 1 and asked[0].missing == ""
    assert asked[0].source_phrase == "マニュアルを書く"
    assert asked[0].text.startswith("マニュアルを書きながら、特に難しかったこと")


def test_an_english_answer_without_a_result_is_asked_for_the_result_quoting_the_action():
    asked = template_follow_ups(QUESTION_EN, NO_RESULT_EN, "en")

    assert asked and asked[0].missing == "result"
    assert asked[0].source_phrase == "introduced a weekly review meeting"
    assert asked[0].text == ("You said you introduced a weekly review meeting. "
                             "What was the result, in figures if you can?")


def test_an_english_answer_with_a_result_but_no_situation_is_asked_where_and_when():
    answer = "I rewrote our onboarding guide. As a result, new staff needed 30% less time to start."

    asked = template_follow_ups(QUESTION_EN, answer, "en")

    assert [f.missing for f in asked] == ["task", "situation"]
    assert all(f.source_phrase and f.source_phrase in answer for f in asked)
    # Quoted in the interviewer's words: the candidate's "our guide" is "your guide".
    assert asked[0].text == "You said you rewrote your onboarding guide. What goal or problem made that necessary?"


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("answer", ["", "   \n", "。", "えー", "123", "😀😀", "\x00\x1b[31m", "<script>x</script>"])
def test_an_empty_or_contentless_answer_gets_no_follow_up_or_a_generic_one(answer, language):
    asked = template_follow_ups(QUESTION_JA if language == "ja" else QUESTION_EN, answer, language)

    assert len(asked) <= 1
    assert all(f.source_phrase == "" and f.missing == "" for f in asked)
    if not answer.strip():
        assert asked == []


@pytest.mark.parametrize("language", ["ja", "en"])
def test_an_off_topic_answer_gets_one_generic_question(language):
    asked = template_follow_ups(QUESTION_JA if language == "ja" else QUESTION_EN, OFF_TOPIC[language], language)

    assert len(asked) == 1 and asked[0].source_phrase == "" and asked[0].missing == ""
    assert ("具体的な経験" if language == "ja" else "concrete example") in asked[0].text


def test_another_language_or_a_zero_limit_gets_none():
    assert template_follow_ups("Question?", "Je suis allé au bureau.", "fr") == []
    assert template_follow_ups(QUESTION_JA, NO_RESULT_JA, "ja", limit=0) == []
    assert len(template_follow_ups(QUESTION_JA, NO_RESULT_JA, "ja", limit=9)) <= 2


# -- who answers: the hook, the tenant's endpoint, the templates -------------------------------

class SelfInterviewStandIn:
    """What follow_ups needs of the self-interview plugin: its key and its settings schema."""

    @hookimpl
    def mendan_plugin_meta(self):
        return PluginMeta(key="self_interview", name_ja="セルフ面談", name_en="Self-interview", version="1.0.0",
                          kind="basic", hours="interactive", settings=SelfInterviewSettings)


@pytest.fixture
def self_interview(host):
    host.register(SelfInterviewStandIn(), key="self_interview")
    return host


def doc_example_plugin() -> types.ModuleType:
    """The example of `mendan_followup_questions` in docs/plugins.md, run as a plugin."""
    text = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.split("## mendan_followup_questions(tenant_id, question, transcript, language)")[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    module = types.ModuleType("followup_doc_example")
    exec(compile(code, "docs/plugins.md", "exec"), module.__dict__)
    module.mendan_plugin_meta = hookimpl(lambda: PluginMeta(
        key="followup_doc_example", name_ja="例", name_en="Example", version="1.0.0", kind="option",
        hours="interactive"))
    return module


async def test_a_plugin_answering_the_hook_writes_the_follow_ups(self_interview, app, make_tenant):
    tenant = await make_tenant(name="フック株式会社")
    self_interview.register(doc_example_plugin(), key="followup_doc_example")
    await self_interview.set_enabled(tenant.id, "followup_doc_example", True)

    asked = await follow_ups(tenant_id=tenant.id, question=QUESTION_JA, transcript=transcript(NO_RESULT_JA, "ja"),
                             language="ja", limit=2)

    assert asked == [FollowUp("そのチームでのあなたの役割は何でしたか。",
                              "チームでの経験を話していますが、本人の役割が語られていないため。",
                              "followup_doc_example", "チーム")]
    # Given as text, the answer reaches the hook as a Transcript all the same.
    assert await follow_ups(tenant_id=tenant.id, question=QUESTION_JA, transcript=NO_RESULT_JA, language="ja",
                            limit=2) == asked
    # The example declines English answers (None): the templates answer.
    english = await follow_ups(tenant_id=tenant.id, question=QUESTION_EN, transcript=transcript(NO_RESULT_EN, "en"),
                               language="en", limit=2)
    assert english and english[0].provider == "templates"


async def test_without_a_provider_the_templates_answer_and_an_empty_answer_gets_none(self_interview, app,
                                                                                     make_tenant):
    tenant = await make_tenant(name="既定株式会社")

    asked = await follow_ups(tenant_id=tenant.id, question=QUESTION_JA, transcript=transcript(NO_RESULT_JA, "ja"),
                             language="ja", limit=1)
    assert len(asked) == 1 and asked[0].provider == "templates" and asked[0].missing == "result"
    assert await follow_ups(tenant_id=tenant.id, question=QUESTION_JA,
                            transcript=Transcript(language="ja", source="test"), language="ja", limit=2) == []


class FakeChatCompletions:
    """A local OpenAI-compatible server: POST /v1/chat/completions answers in the real wire
    format (or slowly, or with an error), and keeps each request it got."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.hold = False  # answer only once released (an endpoint slower than any timeout)
        self.released = threading.Event()
        self.answered = 0
        self.status = 200
        self.content = json.dumps({"follow_ups": [
            {"question": "顧客アンケートの結果、受注はどれだけ増えましたか。", "reason": "結果が語られていないため。"},
            {"question": "アンケートは何社に送りましたか。", "reason": "規模を確かめるため。"},
            {"question": "三つ目の質問", "reason": "多すぎる"}]}, ensure_ascii=False)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                      "body": body})
                if fake.hold:
                    fake.released.wait(30)
                answer = {"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
                          "model": body["model"],
                          "choices": [{"index": 0, "message": {"role": "assistant", "content": fake.content},
                                       "finish_reason": "stop"}],
                          "usage": {"prompt_tokens": 120, "completion_tokens": 60, "total_tokens": 180}}
                data = json.dumps(answer if fake.status == 200 else {"error": {"message": "overloaded"}}).encode()
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    fake.answered += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat_server():
    server = FakeChatCompletions()
    yield server
    server.close()


async def use_endpoint(host, tenant, url: str, timeout_s: str = "2") -> None:
    """The tenant's admin chooses the endpoint in the plugin's settings (the API key sealed)."""
    await host.save_settings(tenant.id, "self_interview", {
        "follow_up_provider": "chat_completions", "endpoint": url, "model": "qwen2.5-1.5b-instruct",
        "api_key": "sk-test-123", "timeout_s": timeout_s}, operator=False)


async def test_the_tenants_chat_completions_endpoint_writes_the_follow_ups(self_interview, app, make_tenant,
                                                                           chat_server):
    tenant = await make_tenant(name="LLM株式会社")
    await use_endpoint(self_interview, tenant, chat_server.url)

    asked = await follow_ups(tenant_id=tenant.id, question=QUESTION_JA, transcript=transcript(NO_RESULT_JA, "ja"),
                             language="ja", limit=2)

    assert [f.text for f in asked] == ["顧客アンケートの結果、受注はどれだけ増えましたか。", "アンケートは何社に送りましたか。"]
    assert asked[0].reason == "結果が語られていないため。"
    assert {f.provider for f in asked} == {"chat-completions:qwen2.5-1.5b-instruct"}
    (request,) = chat_server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["authorization"] == "Bearer sk-test-123"
    body = request["body"]
    assert body["model"] == "qwen2.5-1.5b-instruct"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert QUESTION_JA in body["messages"][1]["content"] and NO_RESULT_JA in body["messages"][1]["content"]
    assert "2" in body["messages"][0]["content"]


async def test_a_slow_endpoint_times_out_and_the_templates_answer(self_interview, app, make_tenant, chat_server):
    tenant = await make_tenant(name="遅延株式会社")
    await use_endpoint(self_interview, tenant, chat_server.url, timeout_s="0.5")
    chat_server.hold = True

    asked = await follow_ups(tenant_id=tenant.id, question=QUESTION_JA, transcript=transcript(NO_RESULT_JA, "ja"),
                             language="ja", limit=2)

    # The templates answered while the endpoint still held the request.
    assert len(chat_server.requests) == 1 and chat_server.answered == 0
    assert asked and {f.provider for f in asked} == {"templates"} and asked[0].missing == "result"


@pytest.mark.parametrize(("status", "content"), [(500, ""), (200, "申し訳ありませんが、お答えできません。"),
                                                 (200, '{"follow_ups": "none"}')])
async def test_an_endpoint_error_or_an_unusable_answer_falls_back_to_the_templates(
        self_interview, app, make_tenant, chat_server, status, content):
    tenant = await make_tenant(name="障害株式会社")
    await use_endpoint(self_interview, tenant, chat_server.url)
    chat_server.status, chat_server.content = status, content

    asked = await follow_ups(tenant_id=tenant.id, question=QUESTION_EN, transcript=transcript(NO_RESULT_EN, "en"),
                             language="en", limit=2)

    assert asked and {f.provider for f in asked} == {"templates"}
    assert len(chat_server.requests) == 1
