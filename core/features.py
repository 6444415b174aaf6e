"""Feature extractors: how plugins turn a recording or a transcript into named numbers.

Plugins contribute extractors through `mendan_feature_extractors`. The core runs those of
the plugins a tenant enabled over each recording of an interview (core.interviews.analysis) and stores
what they return as `FeatureValue` rows tagged with the extractor's name and version and
the recording (and its question). It then aggregates an interview's recordings into
interview-level rows (`recording_id` NULL), which is what models read:

- the extractor's own `aggregate(per_recording)`, where it has one: it gets a list of
  `RecordingFeatures` in recording order and returns the interview's mapping;
- otherwise, per feature: a **sum** for counts and durations (`duration_s`, names ending in
  `_s`, `_count` or `_frames`, and any the extractor lists in `summed_features`), and for
  everything else (rates, ratios, means) a **mean weighted by each recording's
  `duration_s`** (equal weights where a recording has none). Spreads (std, percentiles)
  are weighted means too: an approximation an extractor replaces with its own `aggregate`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable
from uuid import UUID

from core.db.tables import FeatureValue
from core.tenancy import TenantScope
from core.web.i18n import current_language
from core.web.i18n import gettext as _

if TYPE_CHECKING:
    from core.transcripts import Transcript

InputKind = Literal["video", "audio", "transcript"]

# Quality features: extractors of video report these (under their own prefix) so that
# any model can leave out recordings too poor to learn from, without knowing the extractor.
QUALITY_MINIMUMS = {"duration_s": 10.0, "presence_ratio": 0.5}
SUMMED_SUFFIXES = ("_s", "_count", "_frames")
Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class ExtractionInput:
    """What an extractor gets: a decrypted temporary file for video and audio, the transcript
    (and its text) for transcripts; which recording and question it is."""

    tenant_id: UUID
    interview_id: UUID
    path: Path | None = None
    text: str | None = None
    emotion_allowed: bool = False  # False outside the regions where emotion inference is allowed
    settings: Any = None  # the tenant's settings of the extractor's plugin (PluginMeta.settings), or None
    recording_id: UUID | None = None
    question_key: str | None = None
    transcript: Transcript | None = None
    question_text: str | None = None  # the question answered, where the key names one of the set (`q1`, `q2`, ...)


@runtime_checkable
class FeatureExtractor(Protocol):
    """What a plugin's extractor is. It may also have `labels() -> Mapping[str, FeatureLabel]`
    (feature name without the extractor prefix -> label), which `feature_labels` reads, and
    `title_ja` and `title_en` (str), what the analysis is called on the pages (`extractor_title`)."""

    name: str
    version: str
    input_kind: InputKind

    def extract(self, source: ExtractionInput, progress: Progress) -> Mapping[str, float]:
        """Return features by name; leave out what cannot be measured rather than inventing a value."""


@dataclass(frozen=True)
class FeatureLabel:
    """How a feature is named and explained to people: HR staff read these in explanations.

    `meaning_*` is one sentence saying what a higher value means; `unit` is shown after
    values ("秒", "%", "回/分", "" for none) and is the same in both languages.
    """

    name_ja: str
    name_en: str
    meaning_ja: str
    meaning_en: str
    unit: str = ""

    def name(self, language: str | None = None) -> str:
        return self.name_ja if (language or current_language.get()) == "ja" else self.name_en

    def meaning(self, language: str | None = None) -> str:
        return self.meaning_ja if (language or current_language.get()) == "ja" else self.meaning_en


def feature_labels(extractors: Iterable[Any]) -> dict[str, FeatureLabel]:
    """Labels of every feature the extractors describe, keyed `{extractor}.{name}` as features are stored.

    An extractor without `labels()` contributes nothing; its features are shown by name.
    """
    out: dict[str, FeatureLabel] = {}
    for extractor in extractors:
        labels = getattr(extractor, "labels", None)
        if callable(labels):
            for name, label in labels().items():
                out[f"{extractor.name}.{name}"] = label
    return out


def extractor_title(extractor: Any, language: str | None = None) -> str:
    """What the extractor's analysis is called in `language` (default: the page's): its `title_ja`
    or `title_en`, or its `name` where it has none."""
    attribute = "title_ja" if (language or current_language.get()) == "ja" else "title_en"
    return getattr(extractor, attribute, None) or extractor.name


def feature_name(key: str, labels: Mapping[str, FeatureLabel], language: str | None = None) -> str:
    """A feature's label in the language (the request's by default), or its stored key when it has none."""
    label = labels.get(key)
    return label.name(language) if label else key


@dataclass(frozen=True)
class RecordingFeatures:
    """One recording's features, as an extractor's `aggregate` receives them."""

    recording_id: UUID
    question_key: str | None
    features: Mapping[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float | None:
        return self.features.get("duration_s")


def _finite(features: Mapping[str, float]) -> dict[str, float]:
    return {n: float(v) for n, v in features.items() if v is not None and math.isfinite(float(v))}


def is_summed(name: str, extractor: Any = None) -> bool:
    """Counts and durations add up over recordings; everything else is a weighted mean."""
    return name.endswith(SUMMED_SUFFIXES) or name in getattr(extractor, "summed_features", ())


def combine(per_recording: Sequence[RecordingFeatures], extractor: Any = None) -> dict[str, float]:
    """The interview's features from its recordings' (see the module docstring for the rule)."""
    own = getattr(extractor, "aggregate", None)
    if callable(own):
        return _finite(own(list(per_recording)))
    names = sorted({n for r in per_recording for n in r.features})
    out: dict[str, float] = {}
    for name in names:
        having = [r for r in per_recording if name in r.features]
        values = [float(r.features[name]) for r in having]
        if is_summed(name, extractor):
            out[name] = sum(values)
            continue
        weights = [float(r.duration_s) if r.duration_s and r.duration_s > 0 else 0.0 for r in having]
        if not all(w > 0 for w in weights):
            weights = [1.0] * len(having)
        out[name] = sum(w * v for w, v in zip(weights, values)) / sum(weights)
    return _finite(out)


async def store_features(
    scope: TenantScope, interview_id: UUID, extractor: FeatureExtractor, features: Mapping[str, float], *,
    recording_id: UUID | None = None, question_key: str | None = None,
) -> int:
    """Replace this extractor's features of one recording, then re-aggregate the interview.

    Non-finite values are left out. Without `recording_id` the values are stored as the
    interview's own (no aggregation). Returns how many values were stored for the recording.
    """
    kept = _finite(features)
    await scope.delete(FeatureValue).where(
        (FeatureValue.interview_id == interview_id) & (FeatureValue.extractor == extractor.name)
        & (FeatureValue.recording_id.is_null() if recording_id is None else FeatureValue.recording_id == recording_id)
    )
    await _insert(scope, interview_id, extractor, kept, recording_id, question_key)
    if recording_id is not None:
        await aggregate_interview(scope, interview_id, extractor)
    return len(kept)


async def _insert(scope: TenantScope, interview_id: UUID, extractor: FeatureExtractor, features: Mapping[str, float],
                  recording_id: UUID | None, question_key: str | None) -> None:
    rows = [
        FeatureValue(tenant=scope.tenant_id, interview_id=interview_id, recording_id=recording_id,
                     question_key=question_key, extractor=extractor.name, extractor_version=extractor.version,
                     name=name, value=value)
        for name, value in features.items()
    ]
    if rows:
        await FeatureValue.insert(*rows)


async def aggregate_interview(scope: TenantScope, interview_id: UUID, extractor: FeatureExtractor) -> dict[str, float]:
    """Recompute the interview-level rows of `extractor` from its recordings' rows of its
    current version (recordings measured by an older version wait for re-analysis).

    Two recordings' jobs may aggregate at the same moment; each reads every recording row
    stored before it started, so the one that finishes last is complete. Where their
    delete-and-insert interleaved (duplicate rows), it is redone from a fresh read.
    """
    interview_rows = ((FeatureValue.interview_id == interview_id) & (FeatureValue.extractor == extractor.name)
                      & FeatureValue.recording_id.is_null())
    combined: dict[str, float] = {}
    for _attempt in range(3):
        per_recording = await _per_recording(scope, interview_id, extractor.name, extractor.version)
        combined = combine(list(per_recording.values()), extractor) if per_recording else {}
        await scope.delete(FeatureValue).where(interview_rows)
        await _insert(scope, interview_id, extractor, combined, None, None)
        if await scope.count(FeatureValue).where(interview_rows) == len(combined):
            break
    return combined


async def _per_recording(scope: TenantScope, interview_id: UUID, extractor: str | None = None,
                         version: str | None = None) -> dict[UUID, RecordingFeatures]:
    query = scope.select(FeatureValue).where(
        (FeatureValue.interview_id == interview_id) & FeatureValue.recording_id.is_not_null()
        & (FeatureValue.superseded == False))  # noqa: E712 (a column comparison, not a bool)
    if extractor is not None:
        query = query.where(FeatureValue.extractor == extractor)
    if version is not None:
        query = query.where(FeatureValue.extractor_version == version)
    found: dict[UUID, dict[str, Any]] = {}
    for row in await query.order_by(FeatureValue.created_at):
        entry = found.setdefault(row["recording_id"], {"question_key": row["question_key"], "features": {}})
        key = row["name"] if extractor is not None else f"{row['extractor']}.{row['name']}"
        entry["features"][key] = row["value"]
    return {rid: RecordingFeatures(rid, e["question_key"], e["features"]) for rid, e in found.items()}


async def supersede_recordings(scope: TenantScope, interview_id: UUID, recording_ids: Iterable[UUID],
                               extractors: Iterable[FeatureExtractor]) -> None:
    """Leave the features of `recording_ids` (takes a retake replaced) out of every reading and
    aggregate from now on, keeping the rows, and re-aggregate the interview for `extractors`
    (those enabled for the tenant; the others are re-aggregated when they next run)."""
    ids = list(recording_ids)
    if not ids:
        return
    await scope.update(FeatureValue, {FeatureValue.superseded: True}).where(
        (FeatureValue.interview_id == interview_id) & FeatureValue.recording_id.is_in(ids))
    for extractor in extractors:
        await aggregate_interview(scope, interview_id, extractor)


async def features_of(scope: TenantScope, interview_id: UUID) -> dict[str, Any]:
    """The interview's features (aggregated over its recordings), keyed `{extractor}.{name}`."""
    rows = await scope.select(FeatureValue).where(
        (FeatureValue.interview_id == interview_id) & FeatureValue.recording_id.is_null())
    return {f"{r['extractor']}.{r['name']}": r["value"] for r in rows}


async def features_by_recording(scope: TenantScope, interview_id: UUID) -> dict[UUID, RecordingFeatures]:
    """Each recording's own features, keyed by recording id; features keyed `{extractor}.{name}`."""
    return await _per_recording(scope, interview_id)


async def features_by_question(scope: TenantScope, interview_id: UUID) -> dict[str, dict[str, float]]:
    """The features of each question's answer (`question_key` -> `{extractor}.{name}` -> value),
    its recordings combined by the default rule. Recordings without a question are left out."""
    by_question: dict[str, list[RecordingFeatures]] = {}
    for recording in (await _per_recording(scope, interview_id)).values():
        if recording.question_key is not None:
            by_question.setdefault(recording.question_key, []).append(recording)
    out = {}
    for key, recordings in by_question.items():
        # Weights come from each extractor's own duration_s: regroup per extractor.
        merged: dict[str, float] = {}
        for extractor in sorted({n.rpartition(".")[0] for r in recordings for n in r.features}):
            prefix = extractor + "."
            own = [RecordingFeatures(r.recording_id, r.question_key,
                                     {n[len(prefix):]: v for n, v in r.features.items() if n.startswith(prefix)})
                   for r in recordings]
            merged.update({prefix + n: v for n, v in combine([r for r in own if r.features]).items()})
        out[key] = merged
    return out


def quality_problem(features: Mapping[str, float]) -> str | None:
    """Why an interview's features are too poor to learn from or predict on, or None.

    `features` is keyed `{extractor}.{name}`; every extractor reporting a quality
    feature must meet its minimum. The answer is the stored form ("presence_ratio 0.20
    is below 0.5"); `insufficient_data_text` says it in words for people.
    """
    for key, value in features.items():
        name = key.rpartition(".")[2]
        minimum = QUALITY_MINIMUMS.get(name)
        if minimum is not None and value < minimum:
            return f"{name} {value:.2f} is below {minimum}"
    return None


NOT_ANALYSED = "not analysed"  # the stored reason when an interview has no features at all
_QUALITY = re.compile(r"^(?P<name>\w+) (?P<value>[-\d.]+) is below (?P<minimum>[-\d.]+)$")


def insufficient_data_text(reason: str, language: str | None = None) -> str:
    """A stored "insufficient data" reason (`quality_problem`'s, or NOT_ANALYSED) in plain words,
    in `language` (the request's by default); an unknown reason is returned as it is."""
    if language is not None:
        token = current_language.set(language)
        try:
            return insufficient_data_text(reason)
        finally:
            current_language.reset(token)
    if reason == NOT_ANALYSED:
        return _("The interview has not been analysed yet.")
    match = _QUALITY.match(reason.strip())
    if match is None:
        return reason
    value, minimum = float(match["value"]), float(match["minimum"])
    if match["name"] == "presence_ratio":
        share = {"pct": f"{100 * value:.0f}", "min": f"{100 * minimum:.0f}"}
        if minimum == 0.5:
            return _("A face was in view for less than half of the recording (%(pct)s%%).") % share
        return _("A face was in view for only %(pct)s%% of the recording; at least %(min)s%% is needed.") % share
    if match["name"] == "duration_s":
        return _("The recording is only %(seconds)s seconds long; at least %(min)s seconds are needed.") % {
            "seconds": f"{value:.0f}", "min": f"{minimum:.0f}"}
    return reason
