"""The JSON search behind the people pickers (`GET /t/{tenant}/people/search?q=&role=`,
static/people_picker.js): staff type part of a name or e-mail address and get a few matches."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from core.auth.guards import requires_role
from core.interviews.people_search import SEARCH_LIMIT, person_label, search_people
from core.tenancy import TenantScope

# What each picker may offer: the roles `schedule_interview` accepts for that place.
PICKER_ROLES = {"interviewee": ("interviewee",), "interviewer": ("interviewer", "expert", "admin"),
                "expert": ("expert",)}


@get("/people/search", guards=[requires_role("admin", "interviewer", "expert")], include_in_schema=False)
async def search_people_json(tenant_scope: NamedDependency[TenantScope], q: FromQuery[str] = "",
                             role: FromQuery[str] = "interviewee", limit: FromQuery[int] = SEARCH_LIMIT) -> dict:
    """`{"people": [{"id", "name", "email", "role", "label"}]}`: at most `limit` (capped at
    SEARCH_LIMIT) active people of the picker's `role` matching `q`; an unknown role finds nobody."""
    people = await search_people(tenant_scope, q, PICKER_ROLES.get(role, ()), limit)
    return {"people": [{"id": str(p.id), "name": p.display_name, "email": p.email, "role": p.role,
                        "label": person_label(p)} for p in people]}
