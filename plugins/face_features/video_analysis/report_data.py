"""What the report works on, read for one tenant: face features, expert evaluations and the
evaluation items' names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from uuid import UUID

from core.interviews.api import QuestionSetVersion, expert_labels, items_of
from core.tables import FeatureValue
from core.tenancy import TenantScope

EXTRACTOR = "face_features"  # the features the report is made of

if TYPE_CHECKING:  # pandas is imported where a report is computed, not by the page that shows one
    import pandas as pd


async def face_feature_table(scope: TenantScope) -> pd.DataFrame:
    """One row per analysed interview, one column per face feature."""
    import pandas as pd

    # The interview's own values (aggregated over its recordings), not each recording's.
    rows = await scope.select(FeatureValue).where(
        (FeatureValue.extractor == EXTRACTOR) & FeatureValue.recording_id.is_null())
    if not rows:
        return pd.DataFrame()
    long = pd.DataFrame(rows)[["interview_id", "name", "value"]]
    long["interview_id"] = long["interview_id"].astype(str)
    return long.pivot_table(index="interview_id", columns="name", values="value", aggfunc="first")


def labels_table(labels: Mapping[UUID, Mapping[str, float]]) -> pd.DataFrame:
    """Expert scores as one row per interview (id as text), one column per evaluation item key."""
    import pandas as pd

    return pd.DataFrame.from_dict({str(k): dict(v) for k, v in labels.items()}, orient="index", dtype=float)


async def evaluation_labels(scope: TenantScope) -> pd.DataFrame:
    """The mean expert score of each evaluation item per interview, from the interviews domain."""
    return labels_table(await expert_labels(scope))


async def item_names(scope: TenantScope) -> dict[str, str]:
    """Every evaluation item the tenant has used: key -> the name people gave it. A key keeps its
    meaning across a question set's versions (and no two sets share one), so the newest version's
    wording wins."""
    names: dict[str, str] = {}
    for version in await scope.objects(QuestionSetVersion).order_by(QuestionSetVersion.created_at):
        names.update((item.key, item.name) for item in items_of(version))
    return names
