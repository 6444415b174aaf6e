"""Feature extractors: how plugins turn a recording or a transcript into named numbers.

Plugins contribute extractors through `mendan_feature_extractors`. The host runs
those of the plugins a tenant enabled, and stores what they return as
`FeatureValue` rows tagged with the extractor's name and version, so model
building can use every feature family without knowing any plugin's names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable
from uuid import UUID

from core.db.tables import FeatureValue
from core.tenancy import TenantScope

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
    name: str
    version: str
    input_kind: InputKind

    def extract(self, source: ExtractionInput, progress: Progress) -> Mapping[str, float]:
        """Return features by name; leave out what cannot be measured rather than inventing a value."""


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
    feature must meet its minimum.
    """
    for key, value in features.items():
        name = key.rpartition(".")[2]
        minimum = QUALITY_MINIMUMS.get(name)
        if minimum is not None and value < minimum:
            return f"{name} {value:.2f} is below {minimum}"
    return None
