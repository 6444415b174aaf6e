"""The two tables the report works on, read for one tenant: face features and expert evaluations."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import pandas as pd

from core.interviews.api import expert_labels
from core.tables import FeatureValue
from core.tenancy import TenantScope

EXTRACTOR = "face_features"


async def face_feature_table(scope: TenantScope) -> pd.DataFrame:
    """One row per analysed interview, one column per face feature."""
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
    return pd.DataFrame.from_dict({str(k): dict(v) for k, v in labels.items()}, orient="index", dtype=float)


async def evaluation_labels(scope: TenantScope) -> pd.DataFrame:
    """The mean expert score of each evaluation item per interview, from the interviews domain."""
    return labels_table(await expert_labels(scope))
