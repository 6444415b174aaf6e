"""Follow-up questions generated from an answer (spec 4.1.1 (6), v1.5 dynamic question generation).

Who writes them, first answer wins:
1. a plugin implementing `mendan_followup_questions` (the provider hook);
2. the tenant's OpenAI-compatible chat-completions endpoint, where its settings choose one
   (falls back to 3. on timeout or any error);
3. the default, offline and fast (about 10 ms): key phrases of the answer fill question
   templates that ask for the parts of a STAR answer (situation, task, action, result) the
   answer lacks, ranked by how much each is worth asking and how close its phrase is to the
   question (lexical overlap: an embedding model would cost about 1 s on 2 cores, a third of
   the screen's budget). Japanese phrases come from fugashi (UniDic); a quoted verb phrase is
   put in the form its template needs (dictionary form before こと/ために, continuative before
   ながら), from the conjugation type UniDic gives.

An empty answer gives no follow-up; one without any experience in it (off-topic, "はい") gives
one generic question. Generated questions are not guaranteed complete (spec 4.2).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import structlog

log = structlog.get_logger("mendan.self_interview")

DEFAULT_PROVIDER = "templates"
STAR_PARTS = ("situation", "task", "action", "result")
# What a missing part is worth asking: the result and the candidate's own action say most.
PART_WEIGHT = {"result": 1.0, "action": 0.9, "task": 0.7, "situation": 0.6}
MAX_FOLLOW_UPS = 2
MAX_QUESTION_CHARS = 300


@dataclass(frozen=True)
class FollowUp:
    """One generated follow-up question. `text`: the question, in the interview's language;
    `reason`: why it was asked, for the interviewer, in the same language; `provider`: who wrote
    it ("templates", "chat-completions:{model}", or the key of the plugin that answered the hook);
    `source_phrase`: the phrase of the answer it quotes ("" when none); `missing`: the STAR part
    it asks for ("situation", "task", "action", "result"; "" for a generic or model-written one)."""

    text: str
    reason: str
    provider: str
    source_phrase: str = ""
    missing: str = ""


# -- reading the answer ----------------------------------------------------------------------

@dataclass(frozen=True)
class Phrase:
    """A key phrase of the answer. `text` as said (a noun phrase), or for a verb phrase its
    `dictionary` form (終止形: 顧客アンケートを実施する) and `continuative` form (連用形:
    顧客アンケートを実施し); `sentence` the sentence it came from."""

    text: str
    kind: str  # "noun" or "verb"
    sentence: str
    dictionary: str = ""
    continuative: str = ""
    first_person: bool = False


@cache
def _tagger():
    from fugashi import Tagger

    return Tagger()


# 連用形 of a 五段 verb: the last kana of the dictionary form moves to the い row.
GODAN_CONTINUATIVE = dict(zip("うくぐすつぬぶむる", "いきぎしちにびみり"))
# Verbs too general to quote (ある, いる, なる, する on their own, 思う, 言う...).
LIGHT_VERBS = {"ある", "いる", "なる", "する", "できる", "思う", "言う", "おる", "くる", "来る", "いく", "行く",
               "くださる", "もらう", "いただく", "しまう", "みる", "おく", "考える", "感じる", "わかる", "分かる"}
VOICE_AND_NEGATION = {"れる", "られる", "せる", "させる", "ない", "ぬ", "ん", "たい", "たがる"}
LIGHT_NOUNS = {"こと", "もの", "ため", "よう", "方", "とき", "時", "ところ", "中", "私", "自分", "今", "皆",
               "前", "後", "上", "下", "的", "感じ", "場合", "以上", "ほう", "わけ", "はず", "みんな", "さん"}


def continuative(dictionary_form: str, conjugation_type: str) -> str | None:
    """The 連用形 (as before ます/ながら) of a verb from its dictionary form and UniDic's 活用型
    (`cType`, e.g. "五段-カ行", "下一段-マ行", "サ行変格"); None for a type it does not know."""
    if conjugation_type.startswith("五段") and dictionary_form[-1:] in GODAN_CONTINUATIVE:
        return dictionary_form[:-1] + GODAN_CONTINUATIVE[dictionary_form[-1]]
    if conjugation_type.startswith(("上一段", "下一段")) and dictionary_form.endswith("る"):
        return dictionary_form[:-1]
    if conjugation_type.startswith("サ行変格") and dictionary_form.endswith(("する", "ずる")):
        return dictionary_form[:-2] + ("し" if dictionary_form.endswith("する") else "じ")
    if conjugation_type.startswith("カ行変格") and dictionary_form.endswith("る"):
        return dictionary_form[:-1] if dictionary_form.endswith("来る") else dictionary_form[:-2] + "き"
    return None


def split_sentences(text: str, language: str) -> list[str]:
    """Sentences of a transcript, on 。！？ (and .!? for English), without empty ones."""
    pattern = r"(?<=[。！？!?])" if language == "ja" else r"(?<=[.!?])\s+"
    return [s.strip() for s in re.split(pattern, text) if s.strip()]


def _is_noun_part(word) -> bool:
    f = word.feature
    return (f.pos1 in ("名詞", "接頭辞") or (f.pos1 == "接尾辞" and f.pos2 == "名詞的")
            or (f.pos1 == "形状詞" and f.pos2 == "一般")) and f.pos2 not in ("数詞",) and f.pos1 != "代名詞"


def japanese_phrases(text: str) -> list[Phrase]:
    """Noun phrases (compounds of nouns, prefixes and noun suffixes: 法人向け, 営業チーム) and verb
    phrases (an object with を and the verb, or a サ変 noun with する: 提案資料を作り直す,
    顧客アンケートを実施する) of a Japanese answer, in the order said."""
    phrases: list[Phrase] = []
    for sentence in split_sentences(text, "ja"):
        words = list(_tagger()(sentence))
        first_person = any(w.feature.pos1 == "代名詞" and w.surface in ("私", "僕", "わたし", "自分")
                           or w.surface == "自分" for w in words)
        i = 0
        while i < len(words):
            if _is_noun_part(words[i]):
                j = i
                while j < len(words) and _is_noun_part(words[j]):
                    j += 1
                compound = "".join(w.surface for w in words[i:j])
                content = [w for w in words[i:j] if w.feature.pos1 == "名詞" and w.surface not in LIGHT_NOUNS]
                before_suru = j < len(words) and words[j].feature.orthBase == "する"
                if content and len(compound) >= 2 and compound not in LIGHT_NOUNS and not before_suru:
                    phrases.append(Phrase(compound, "noun", sentence, first_person=first_person))
                i = j
                continue
            i += 1
        for k, word in enumerate(words):
            f = word.feature
            if f.pos1 != "動詞" or not f.orthBase or f.cType in (None, "*"):
                continue
            start = k
            # A サ変 noun right before する makes the verb (実施+する).
            if f.orthBase == "する" and k > 0 and words[k - 1].feature.pos3 == "サ変可能":
                start = k - 1
                while start > 0 and _is_noun_part(words[start - 1]):
                    start -= 1
            elif f.pos2 != "一般" or f.orthBase in LIGHT_VERBS:
                continue
            head = "".join(w.surface for w in words[start:k])
            # Its object: a noun phrase marked を just before it.
            if start >= 2 and words[start - 1].surface == "を" and _is_noun_part(words[start - 2]):
                obj = start - 2
                while obj > 0 and _is_noun_part(words[obj - 1]):
                    obj -= 1
                head = "".join(w.surface for w in words[obj:start]) + head
            # 任されました, 書かせた, しなかった: the dictionary form would turn passive or negative
            # into active or positive (任す), so such verbs are not quoted.
            after = words[k + 1].feature if k + 1 < len(words) else None
            if after is not None and after.pos1 == "助動詞" and after.orthBase in VOICE_AND_NEGATION:
                continue
            form = continuative(f.orthBase, f.cType)
            if form is None or len(head) < 2:
                continue
            phrases.append(Phrase(head + f.orthBase, "verb", sentence, dictionary=head + f.orthBase,
                                  continuative=head + form, first_person=first_person))
    return phrases


ENGLISH_STOP = set("""a an the and or but so to of in on at for with by from as is are was were be been being
it its this that these those there here i me my we our us you your he she they them their his her what which
who whom when where why how not no yes very really just also then than too can could would should will shall
do did done does have has had about into over after before because if while during some any all each more most
much many such own same other only again further once up down out off well thing things lot lots kind sort
think thought know knew felt feel like get got make made said say""".split())
ENGLISH_ACTION = re.compile(
    r"\b(?:I|we)\s+(?:then\s+|also\s+|first\s+|personally\s+)?"
    r"((?:[a-z]+ed|built|made|wrote|led|ran|met|took|began|set up|"
    r"spoke|brought|sent|taught|found|chose|drew|gave|held|kept|put|sold|told|won|rewrote|redid)"
    r"(?:\s+(?!and\b|but\b|so\b|because\b|which\b|who\b|that\b)[\w'%-]+){0,6})", re.IGNORECASE)
# The candidate's words in the interviewer's mouth: "our guide" is "your guide".
ENGLISH_PRONOUNS = {"i": "you", "me": "you", "my": "your", "mine": "yours", "we": "you", "us": "you", "our": "your",
                    "ours": "yours", "myself": "yourself", "ourselves": "yourselves"}


def english_phrases(text: str) -> list[Phrase]:
    """Verb phrases the speaker did ("introduced a weekly review meeting", after "I"/"we") and
    noun phrases (runs of two to four content words: "customer survey") of an English answer."""
    phrases: list[Phrase] = []
    for sentence in split_sentences(text, "en"):
        first_person = bool(re.search(r"\b(I|my|me)\b", sentence))
        for match in ENGLISH_ACTION.finditer(sentence):
            words = match.group(1).rstrip(" ,;").split()
            while len(words) > 2 and words[-1].lower() in ENGLISH_STOP:
                words.pop()  # "a weekly review meeting for" ends at "meeting"
            said = " ".join(words)
            if len(words) >= 2:
                phrases.append(Phrase(said, "verb", sentence, dictionary=said, continuative=said,
                                      first_person=first_person))
        run: list[str] = []
        for token in [*re.findall(r"[A-Za-z][A-Za-z'-]*|\d+%?|[,.;:!?]", sentence), "."]:
            if token[0].isalpha() and _is_content_word(token):
                run.append(token)
                continue
            if 2 <= len(run) <= 4:
                phrases.append(Phrase(" ".join(run), "noun", sentence, first_person=first_person))
            elif len(run) > 4:
                phrases.append(Phrase(" ".join(run[-3:]), "noun", sentence, first_person=first_person))
            run = []
    return phrases


def _is_content_word(token: str) -> bool:
    """Not a stop word, nor a past-tense verb (a run of content words is a noun phrase, not "increased sales")."""
    low = token.lower()
    return low not in ENGLISH_STOP and not (low.endswith("ed") and len(low) > 4)


# What each STAR part sounds like when it is there.
JA_CUES = {
    "situation": ("当時", "前職", "頃", "職場", "部署", "チーム", "プロジェクト", "会社", "状況", "環境", "背景",
                  "所属", "在籍", "店舗", "現場", "以前", "年目", "ときに", "の際", "年前", "学生時代", "アルバイト"),
    "task": ("課題", "目標", "問題", "役割", "担当", "任せ", "求め", "必要", "目的", "不足", "困っ", "悩", "低下",
             "解決", "ミッション", "ノルマ", "締め切り", "期限", "少なかった", "多かった", "できていなかった"),
    "action": ("実施", "提案", "工夫", "導入", "作成", "取り組", "始め", "作り", "話し合", "進め", "調整", "分析",
               "見直", "企画", "対応", "説得", "相談", "まとめ", "行い", "行っ", "改善し", "変え", "設け"),
    "result": ("結果", "成果", "達成", "増え", "増加", "向上", "改善され", "成功", "上が", "伸び", "削減", "短縮",
               "獲得", "受賞", "評価され", "学び", "学ん", "気づ", "気付", "につなが", "減らす", "減らせ", "減り"),
}
EN_CUES = {
    "situation": ("when", "while", "team", "project", "company", "department", "situation", "background",
                  "previous", "former", "ago", "office", "store", "client", "at the time", "worked at", "working at"),
    "task": ("goal", "task", "problem", "challenge", "responsible", "responsibility", "role", "needed to", "had to",
             "target", "aim", "issue", "deadline", "objective", "asked to", "in charge"),
    "action": (),  # an "I/we did" phrase (ENGLISH_ACTION) is the action
    "result": ("result", "increased", "reduced", "improved", "achieved", "grew", "saved", "learned", "learnt",
               "outcome", "success", "succeeded", "raised", "doubled", "halved", "won", "percent", "%", "led to",
               "went up", "went down", "dropped", "rose", "cut"),
}


# A figure with a unit of change ("2割", "30%", "three times" aside) says there was a measured result.
FIGURE = re.compile(r"[0-9０-９一二三四五六七八九十半]+\s*(?:割|倍|%|％|パーセント|percent)", re.IGNORECASE)


# A change still going on when the story starts (増えていた, 減っていました, 伸び悩んでいた).
ONGOING_TREND = re.compile(r"(?:増え|減っ|伸び悩ん|下がっ|落ち|遅れ|上がっ)て(?:い|お)")


def star_parts_present(text: str, language: str, phrases: Iterable[Phrase]) -> set[str]:
    """The STAR parts an answer tells, by their cue words, a figure of change for the result, and
    for the action a verb phrase in a sentence where the speaker says "I"."""
    lowered = text.lower()
    cues = JA_CUES if language == "ja" else EN_CUES
    present = set()
    if language == "ja" and ONGOING_TREND.search(lowered):
        # 増えていました is the problem at the start, not the result: it must not read as 増え.
        present.add("task")
        lowered = ONGOING_TREND.sub("", lowered)
    present |= {part for part, words in cues.items()
               if any((re.search(rf"\b{re.escape(w)}\b", lowered) if language == "en" and w.isalpha()
                       else w in lowered) for w in words)}
    if any(p.kind == "verb" and p.first_person for p in phrases):
        present.add("action")
    if FIGURE.search(text):
        present.add("result")
    return present


# -- the questions ---------------------------------------------------------------------------

# (STAR part, phrase kind) -> template; {phrase} is the noun phrase as said, {dictionary} and
# {continuative} the verb phrase's forms.
TEMPLATES = {
    "ja": {
        ("result", "verb"): "{dictionary}ことで、どのような結果や変化がありましたか。数字で分かることがあれば教えてください。",
        ("result", "noun"): "「{phrase}」について、最終的にどのような成果が出ましたか。数字で分かることがあれば教えてください。",
        ("action", "verb"): "{dictionary}ために、あなた自身は具体的に何をしましたか。",
        ("action", "noun"): "「{phrase}」について、あなた自身は具体的にどのような行動をとりましたか。",
        ("task", "verb"): "{dictionary}ことにしたのは、どのような課題や目標があったからですか。",
        ("task", "noun"): "「{phrase}」で、あなたに任されていた役割や目標は何でしたか。",
        ("situation", "verb"): "{dictionary}ことになったのは、いつ、どのような状況でのことですか。",
        ("situation", "noun"): "「{phrase}」は、いつ、どのような状況でのことですか。",
        ("depth", "verb"): "{continuative}ながら、特に難しかったことや、それをどう乗り越えたかを教えてください。",
    },
    "en": {
        ("result", "verb"): "You said you {dictionary}. What was the result, in figures if you can?",
        ("result", "noun"): "You mentioned \"{phrase}\". What came of it in the end? Any figures you can share?",
        ("action", "verb"): "When you {dictionary}, what exactly did you do yourself?",
        ("action", "noun"): "You mentioned \"{phrase}\". What did you personally do about it?",
        ("task", "verb"): "You said you {dictionary}. What goal or problem made that necessary?",
        ("task", "noun"): "You mentioned \"{phrase}\". What was your own role or goal there?",
        ("situation", "verb"): "You said you {dictionary}. When was that, and what was the situation?",
        ("situation", "noun"): "You mentioned \"{phrase}\". When was that, and what was the situation?",
        ("depth", "verb"): "You said you {dictionary}. What was the hardest part, and how did you deal with it?",
    },
}
REASONS = {
    "ja": {
        "result": "回答に結果（STAR の R）が見当たらないため、「{phrase}」の結果を尋ねます。",
        "action": "回答に本人の行動（STAR の A）が見当たらないため、「{phrase}」での行動を尋ねます。",
        "task": "回答に課題や目標（STAR の T）が見当たらないため、「{phrase}」の目的を尋ねます。",
        "situation": "回答に状況（STAR の S）が見当たらないため、「{phrase}」の状況を尋ねます。",
        "depth": "状況・課題・行動・結果がそろっているため、「{phrase}」の難しさを掘り下げます。",
        "generic": "回答から質問に関する具体的な経験が読み取れなかったため、具体例を尋ねます。",
    },
    "en": {
        "result": "The answer does not say what came of it (the R of STAR); asks for the result of \"{phrase}\".",
        "action": "The answer does not say what the candidate did (the A of STAR); asks about \"{phrase}\".",
        "task": "The answer does not say what the goal or problem was (the T of STAR); asks about \"{phrase}\".",
        "situation": "The answer does not say when or where (the S of STAR); asks about \"{phrase}\".",
        "depth": "Situation, task, action and result are all there; digs into \"{phrase}\".",
        "generic": "The answer tells no concrete experience about the question; asks for an example.",
    },
}
GENERIC = {
    "ja": "ご質問について、ご自身の具体的な経験を一つ挙げて、そのときの状況、あなたの行動、結果を教えていただけますか。",
    "en": "Could you give one concrete example from your own experience: the situation, what you did, and the result?",
}


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"\s+", "", text.lower())
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if w not in ENGLISH_STOP and len(w) > 2}


def relevance(phrase: Phrase, question: str, language: str) -> float:
    """0-1: how much of the phrase and its sentence the question shares (character bigrams in
    Japanese, content words in English)."""
    if language == "ja":
        a, b = _bigrams(phrase.text) | _bigrams(phrase.sentence), _bigrams(question)
    else:
        a, b = _words(phrase.text) | _words(phrase.sentence), _words(question)
    return len(a & b) / len(b) if b else 0.0


def _salience(phrase: Phrase) -> float:
    """Longer, concrete phrases make better quotes; verb phrases with an object, and what the
    speaker did themselves, most of all."""
    size = min(len(phrase.text) / 12, 1.0) if phrase.kind == "noun" or len(phrase.text) > 3 else 0.2
    return 0.3 * size + (0.2 if phrase.kind == "verb" else 0.0) + (0.1 if phrase.first_person else 0.0)


# Which phrase kinds suit a part: a missing result is asked of what was done (a verb), a missing
# situation or task of the setting (a noun) or of what was done.
PART_KINDS = {"result": ("verb", "noun"), "action": ("noun",), "task": ("verb", "noun"),
              "situation": ("verb", "noun"), "depth": ("verb",)}


def _interviewers_words(text: str) -> str:
    return re.sub(r"\b[A-Za-z]+\b", lambda m: ENGLISH_PRONOUNS.get(m.group(0).lower(), m.group(0)), text)


def template_follow_ups(question: str, answer: str, language: str, limit: int = MAX_FOLLOW_UPS) -> list[FollowUp]:
    """The offline generator: up to `limit` follow-ups, each asking for a different STAR part the
    answer lacks and quoting a different phrase of it; [] for an empty answer or a language it does
    not know; one generic question for an answer without key phrases or any STAR part."""
    answer = (answer or "").strip()
    limit = max(0, min(limit, MAX_FOLLOW_UPS))
    if not answer or limit == 0 or language not in TEMPLATES:
        return []
    phrases = japanese_phrases(answer) if language == "ja" else english_phrases(answer)
    present = star_parts_present(answer, language, phrases)
    if not phrases or not present:
        return [FollowUp(GENERIC[language], REASONS[language]["generic"], DEFAULT_PROVIDER)]
    missing = [p for p in STAR_PARTS if p not in present] or ["depth"]
    candidates = []
    for part in missing:
        for phrase in phrases:
            if phrase.kind not in PART_KINDS[part]:
                continue
            score = PART_WEIGHT.get(part, 0.5) + 0.5 * relevance(phrase, question, language) + _salience(phrase)
            candidates.append((score, part, phrase))
    candidates.sort(key=lambda c: -c[0])
    chosen: list[FollowUp] = []
    used_parts: set[str] = set()
    used_phrases: set[str] = set()
    for _score, part, phrase in candidates:
        if part in used_parts or phrase.text in used_phrases:
            continue
        quoted = phrase if language != "en" else Phrase(
            _interviewers_words(phrase.text), phrase.kind, phrase.sentence,
            _interviewers_words(phrase.dictionary), _interviewers_words(phrase.continuative))
        text = TEMPLATES[language][(part, phrase.kind)].format(
            phrase=quoted.text, dictionary=quoted.dictionary, continuative=quoted.continuative)
        chosen.append(FollowUp(text, REASONS[language][part].format(phrase=phrase.text), DEFAULT_PROVIDER,
                               source_phrase=phrase.text, missing=part if part in STAR_PARTS else ""))
        used_parts.add(part)
        used_phrases.add(phrase.text)
        if len(chosen) == limit:
            break
    return chosen


# -- the optional chat-completions provider --------------------------------------------------

PROMPTS = {
    "ja": "あなたは採用面接の面接官です。次の質問への応募者の回答を読み、回答に足りない点"
          "（状況・課題・本人の行動・結果）を確かめる追加質問を最大%(limit)d個、日本語で作ってください。"
          "回答の言葉を引用し、一つの質問では一つのことだけを尋ねてください。"
          '次の JSON だけを出力してください: {"follow_ups": [{"question": "...", "reason": "..."}]}',
    "en": "You are an interviewer. Read the candidate's answer to the question and write at most %(limit)d "
          "follow-up questions in English that probe what the answer lacks (situation, task, the candidate's "
          "own action, result). Quote the candidate's words; ask one thing per question. Output only this JSON: "
          '{"follow_ups": [{"question": "...", "reason": "..."}]}',
}


class FollowUpProviderFailed(RuntimeError):
    """The endpoint did not answer in time or not with usable follow-up questions."""


def _parsed_follow_ups(content: str, limit: int) -> list[tuple[str, str]]:
    """(question, reason) pairs from a model's answer: the JSON asked for, inside a code fence or not."""
    match = re.search(r"\{.*\}", content, re.DOTALL)
    if match is None:
        raise FollowUpProviderFailed("the answer holds no JSON object")
    items = json.loads(match.group(0)).get("follow_ups")
    if not isinstance(items, list):
        raise FollowUpProviderFailed("no follow_ups list in the answer")
    pairs = []
    for item in items[:limit]:
        question = str(item.get("question", "")).strip() if isinstance(item, dict) else ""
        if question and len(question) <= MAX_QUESTION_CHARS:
            pairs.append((question, str(item.get("reason", "")).strip()[:MAX_QUESTION_CHARS]))
    return pairs


async def chat_completions_follow_ups(settings: Any, question: str, answer: str, language: str,
                                      limit: int) -> list[FollowUp]:
    """Follow-ups written by the tenant's OpenAI-compatible endpoint: POST {endpoint}/chat/completions
    (Bearer `api_key`, `model`, temperature 0), within `timeout_s` for the whole exchange.
    FollowUpProviderFailed on a timeout, an HTTP error or an answer of the wrong shape."""
    import httpx

    body = {
        "model": settings.model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": PROMPTS.get(language, PROMPTS["en"]) % {"limit": limit}},
            {"role": "user", "content": f"質問: {question}\n回答: {answer}" if language == "ja"
             else f"Question: {question}\nAnswer: {answer}"},
        ],
    }
    url = settings.endpoint.rstrip("/") + "/chat/completions"
    try:
        async with asyncio.timeout(settings.timeout_s):
            async with httpx.AsyncClient(timeout=settings.timeout_s) as client:
                response = await client.post(url, json=body, headers={"Authorization": f"Bearer {settings.api_key}"})
                response.raise_for_status()
                content = response.json()["choices"][0]["message"]["content"]
        pairs = _parsed_follow_ups(str(content), limit)
    except (TimeoutError, httpx.HTTPError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise FollowUpProviderFailed(f"{url}: {exc!r}") from exc
    provider = f"chat-completions:{settings.model}"
    reason = "言語モデルが作成した追加質問です。" if language == "ja" else "Written by a language model."
    return [FollowUp(q, r or reason, provider) for q, r in pairs]


# -- who answers -----------------------------------------------------------------------------

def _as_transcript(transcript: Any, language: str) -> Any:
    """The answer as the hook receives it: a `core.transcripts.Transcript` (text becomes one segment)."""
    from core.transcripts import Segment, Transcript

    if transcript is None or isinstance(transcript, str):
        text = (transcript or "").strip()
        return Transcript(language=language, source="text", segments=(Segment(0.0, 0.0, text),) if text else ())
    return transcript


def _as_follow_ups(answer: Any, provider: str, limit: int) -> list[FollowUp]:
    """A hook's answer (a list of dicts or objects with `text` and `reason`, optionally
    `source_phrase`) as FollowUps; ValueError when it is not one."""
    if not isinstance(answer, (list, tuple)):
        raise ValueError(f"not a list: {answer!r}")
    out = []
    for item in answer[:limit]:
        get = item.get if isinstance(item, dict) else lambda name, default="", item=item: getattr(item, name, default)
        text = str(get("text", "") or "").strip()
        if not text or len(text) > MAX_QUESTION_CHARS:
            raise ValueError(f"a follow-up without text or over {MAX_QUESTION_CHARS} characters: {item!r}")
        out.append(FollowUp(text, str(get("reason", "") or ""), provider, str(get("source_phrase", "") or ""),
                            str(get("missing", "") or "")))
    return out


async def follow_ups(*, tenant_id: Any, question: str, transcript: Any, language: str,
                     limit: int = MAX_FOLLOW_UPS, settings: Any = None) -> list[FollowUp]:
    """0 to `limit` (at most 2) follow-up questions to an answer, never an error for bad input.

    `transcript`: the answer's `core.transcripts.Transcript` (or its text); `language` "ja" or
    "en"; `settings`: the tenant's `SelfInterviewSettings` (read through the plugin host when not
    given). Asks, first answer wins: a plugin's `mendan_followup_questions`; the tenant's
    chat-completions endpoint where chosen (on timeout or error, logged, the templates answer);
    the offline templates."""
    from core.runtime import runtime

    limit = max(0, min(int(limit), MAX_FOLLOW_UPS))
    transcript = _as_transcript(transcript, language)
    answer = transcript.text()
    if limit == 0 or not answer.strip():
        return []
    host = runtime().host
    answered = await host.first_for_tenant("mendan_followup_questions", tenant_id=tenant_id, question=question,
                                           transcript=transcript, language=language)
    if answered is not None:
        key, given = answered
        try:
            return _as_follow_ups(given, key, limit)
        except ValueError as exc:
            log.warning("follow_up_provider_failed", provider=key, error=str(exc))
    if settings is None:
        from plugins.self_interview.settings import self_interview_settings

        settings = await self_interview_settings(tenant_id)
    if settings.follow_up_provider == "chat_completions" and settings.endpoint:
        try:
            written = await chat_completions_follow_ups(settings, question, answer, language, limit)
            if written:
                return written
            log.warning("follow_up_provider_failed", provider="chat_completions", error="no usable question")
        except FollowUpProviderFailed as exc:
            log.warning("follow_up_provider_failed", provider="chat_completions", error=str(exc))
    return await asyncio.to_thread(template_follow_ups, question, answer, language, limit)
