"""The AI-ethics analysis reads the same features the model learnt from: each interview's own
(aggregated) values, never one recording's."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

from core.features import store_features
from core.tables import FeatureValue
from plugins.ethics_model.analysis import feature_matrix
from tests.interview_fixtures import make_interview

PROBE = SimpleNamespace(name="probe", version="1")


async def test_the_feature_matrix_holds_the_interviews_values_not_a_recordings(app, make_tenant, make_user):
    tenant = await make_tenant()
    setup = await make_interview(tenant, make_user)
    scope, interview = setup["scope"], setup["interview"]
    await store_features(scope, interview.id, PROBE, {"duration_s": 40.0})
    # A recording's own row, stored after the interview's (a re-analysis under way, a retake).
    await FeatureValue.insert(FeatureValue(tenant=tenant.id, interview_id=interview.id, recording_id=uuid4(),
                                           question_key="q1", extractor="probe", extractor_version="1",
                                           name="duration_s", value=99.0))
    matrix = await feature_matrix(scope, [str(interview.id)], ["probe.duration_s"])
    assert matrix.loc[str(interview.id), "probe.duration_s"] == 40.0
