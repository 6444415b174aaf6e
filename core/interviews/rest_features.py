"""REST API v1: the feature values extracted from an interview (`/api/v1/t/{tenant}/interviews/{id}/features`),
read-only: the interview's own values (aggregated over its recordings, what models read) and
each recording's, named as `{extractor}.{name}` (core.features)."""

from __future__ import annotations

from typing import Annotated, Any, Mapping
from uuid import UUID

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from core.auth.guards import requires_staff
from core.features import FeatureLabel, feature_labels, features_by_recording, features_of
from core.interviews.web_interviews import visible_interview
from core.rest.auth import requires_scope
from core.rest.etags import tagged
from core.rest.problems import problem_responses
from core.tenancy import TenantScope


class Feature(msgspec.Struct):
    """One value. `label` and `unit` where the extractor describes the feature (in the request's
    language), else null and ""."""

    key: Annotated[str, msgspec.Meta(examples=["face_features.smile_ratio"])]
    value: float
    label: str | None
    unit: str


class RecordingFeatureSet(msgspec.Struct):
    """One recording's own values (takes a retake replaced are left out)."""

    recording: UUID
    question_key: str | None
    features: list[Feature]


class FeaturesOut(msgspec.Struct):
    """The interview's values and each recording's, sorted by key; empty until analysed."""

    interview: UUID
    features: list[Feature]
    recordings: list[RecordingFeatureSet]


def _features(values: Mapping[str, Any], labels: Mapping[str, FeatureLabel]) -> list[Feature]:
    out = []
    for key in sorted(values):
        label = labels.get(key)
        out.append(Feature(key=key, value=float(values[key]), label=label.name() if label else None,
                           unit=label.unit if label else ""))
    return out


@get("/interviews/{interview_id:uuid}/features", summary="Read an interview's features",
     operation_id="getInterviewFeatures",
     description="The feature values the tenant's extractors measured: the interview's (aggregated over its "
                 "recordings) and each recording's. Staff who take part (admins: any); scope `read`.",
     guards=[requires_scope("read"), requires_staff], responses=problem_responses(403))
async def get_features(request: Request, tenant_scope: NamedDependency[TenantScope],
                       interview_id: FromPath[UUID]) -> Response[FeaturesOut]:
    interview = await visible_interview(tenant_scope, request.user, interview_id)
    labels = feature_labels(request.app.state.plugin_host.feature_extractors(None))
    per_recording = await features_by_recording(tenant_scope, interview.id)
    return tagged(request, FeaturesOut(
        interview=interview.id, features=_features(await features_of(tenant_scope, interview.id), labels),
        recordings=[RecordingFeatureSet(recording=r.recording_id, question_key=r.question_key,
                                        features=_features(r.features, labels)) for r in per_recording.values()]))


API_HANDLERS = [get_features]
