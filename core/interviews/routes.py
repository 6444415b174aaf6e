"""The interviews domain as the app assembles it: routes under `/t/{tenant}/`, templates,
and the reminder sweep that runs beside the web process."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from litestar import Router

from core.hours import service_guard
from core.interviews.reminders import reminder_clock
from core.interviews.web_analysis import ANALYSIS_HANDLERS
from core.interviews.web_imports import ImportController
from core.interviews.web_interviews import InterviewController
from core.interviews.web_mail import MailController
from core.interviews.web_mail_templates import MailTemplateController
from core.interviews import rest_consent, rest_evaluations, rest_features, rest_interviews, rest_question_sets, \
    rest_recordings
from core.interviews.rest_people import API_HANDLERS as PEOPLE_API
from core.interviews.web_people import PeopleController
from core.interviews.web_people_search import search_people_json
from core.interviews.web_question_sets import QuestionSetController
from core.interviews.web_recordings import RecordingController, join_router
from core.rest.routers import tenant_api_router
from core.tenancy import tenant_guard

INTERVIEW_TEMPLATES = Path(__file__).parent / "templates"


def interviews_routers() -> list[Router]:
    # Registration, set-up and interviews are interactive services: they follow the tenant's course.
    tenant_pages = Router(
        path="/t/{tenant:str}",
        route_handlers=[PeopleController, QuestionSetController, InterviewController, RecordingController,
                        MailController, MailTemplateController, ImportController, search_people_json],
        guards=[tenant_guard, service_guard("interactive")],
        tags=["interviews"],
    )
    # The analysis page runs 24 hours (batch): its handlers carry their own guards.
    analysis_pages = Router(path="/", route_handlers=ANALYSIS_HANDLERS, include_in_schema=False)
    # The REST API v1 follows the same service hours as the pages it stands beside.
    people_api = tenant_api_router(PEOPLE_API, tags=["people"], guards=[service_guard("interactive")])
    resources_api = [tenant_api_router(module.API_HANDLERS, tags=[tag], guards=[service_guard("interactive")])
                     for module, tag in [(rest_question_sets, "question sets"), (rest_interviews, "interviews"),
                                         (rest_consent, "consent"), (rest_recordings, "recordings"),
                                         (rest_evaluations, "evaluations"),
                                         (rest_features, "features")]]
    return [tenant_pages, analysis_pages, join_router(), people_api, *resources_api]


async def start_reminders(app: Any) -> None:
    app.state.reminder_clock = asyncio.get_running_loop().create_task(
        reminder_clock(app.state.settings, app.state.tasks))


async def stop_reminders(app: Any) -> None:
    task = app.state.get("reminder_clock")
    if task is not None:
        task.cancel()
