"""Feature extractors: how plugins turn a recording or a transcript into named numbers.

Plugins contribute extractors through `mendan_feature_extractors`. The host runs
those of the plugins a tenant enabled, and stores what they return as
`FeatureValue` rows tagged with the extractor's name and version, so model
building can use every feature family without knowing any plugin's names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable
from uuid import UUID

from core.db.tables import FeatureValue
from core.tenancy import TenantScope
from core.web.i18n import current_language
from core.web.i18n import gettext as _

InputKind = Literal["video", "audio", "transcript"]

# Quality features: extractors of video report these (under their own prefix) so that
# any model can leave out recordings too poor to learn from, without knowing the extractor.
QUALITY_MINIMUMS = {"duration_s": 10.0, "presence_ratio": 0.5}
Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class ExtractionInput:
    """What an extractor gets: a decrypted temporary file for video and audio, text for transcripts."""

    tenant_id: UUID
    interview_id: UUID
    path: Path | None = None
    text: str | None = None
    emotion_allowed: bool = False  # False outside the regions where emotion inference is allowed
    settings: Any = None  # the tenant's settings of the extractor's plugin (PluginMeta.settings), or None


@runtime_checkable
class FeatureExtractor(Protocol):
    """What a plugin's extractor is. It may also have `labels() -> Mapping[str, FeatureLabel]`
    (feature name without the extractor prefix -> label); `feature_labels` reads it."""

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


def feature_name(key: str, labels: Mapping[str, FeatureLabel], language: str | None = None) -> str:
    """A feature's label in the language (the request's by default), or its stored key when it has none."""
    label = labels.get(key)
    return label.name(language) if label else key


async def store_features(
    scope: TenantScope, interview_id: UUID, extractor: FeatureExtractor, features: Mapping[str, float]
) -> int:
    """Replace this extractor's features of one interview; non-finite values are left out."""
    await scope.delete(FeatureValue).where(
        (FeatureValue.interview_id == interview_id) & (FeatureValue.extractor == extractor.name)
    )
    rows = [
        FeatureValue(
            tenant=scope.tenant_id, interview_id=interview_id, extractor=extractor.name,
            extractor_version=extractor.version, name=name, value=float(value),
        )
        for name, value in features.items()
        if value is not None and math.isfinite(float(value))
    ]
    if rows:
        await FeatureValue.insert(*rows)
    return len(rows)


async def features_of(scope: TenantScope, interview_id: UUID) -> dict[str, Any]:
    """All stored features of an interview, keyed `{extractor}.{name}`."""
    rows = await scope.select(FeatureValue).where(FeatureValue.interview_id == interview_id)
    return {f"{r['extractor']}.{r['name']}": r["value"] for r in rows}


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


def insufficient_data_text(reason: str) -> str:
    """A stored "insufficient data" reason (`quality_problem`'s, or NOT_ANALYSED) in plain words,
    in the request's language; an unknown reason is returned as it is."""
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
