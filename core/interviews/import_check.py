"""The check of a bulk import of past interviews (issue 18): a CSV with one interview per row and
its expert scores, read with `core.csv_input`, checked row by row against the tenant's question
sets, experts and people and against the videos, before anything is written.

Columns (docs/interviews.md has an example): `interviewee_name`, `interviewee_email` (optional),
`interview_date` (Japan time: `2025-04-01`, `2025/4/1` or `2025-04-01 14:30`), `question_set`
(its name), `video` (the file's name), optionally `interviewer_email`, then one column per
evaluation item and expert: `score:<item key>:<expert e-mail>`; an empty cell is no score.

Every problem is kept with its line and column, in Japanese and in English (the report shows
both, so an admin can pass it on); only a file without problems can be imported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from core.csv_input import CsvUnreadable, normalise_email, read_csv
from core.db.tables import User
from core.interviews.people import EMAIL_RE
from core.interviews.question_sets import items_of, latest_version
from core.interviews.schedule import TOKYO
from core.interviews.tables import Interview, QuestionSet
from core.tenancy import TenantScope
from core.text_input import TextProblem, clean_text
from core.web.i18n import N_, current_language, translations

REQUIRED_COLUMNS = ("interviewee_name", "interview_date", "question_set", "video")
OPTIONAL_COLUMNS = ("interviewee_email", "interviewer_email")
SCORE_PREFIX = "score:"
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M", "%Y年%m月%d日",
                "%Y年%m月%d日 %H:%M")
INTERVIEWER_ROLES = ("interviewer", "expert", "admin")
MAX_ROWS = 2000  # an import is checked row by row on every view of its page; the issue speaks of 50-100
PLACEHOLDER_DOMAIN = "import.invalid"  # a row without an address: .invalid is never delivered (RFC 2606)

# What the check asks of one video file by name: None when there is no such file; raises
# ValueError (core.media.MediaUnreadable, core.interviews.probe.NotAVideo) when it is no video.
VideoProbe = Callable[[str], Awaitable[Any]]


@dataclass(frozen=True)
class ImportProblem:
    """One problem of one row (`line` 1 for the file or its header), in both languages."""

    line: int
    column: str
    message_ja: str
    message_en: str

    @property
    def message(self) -> str:
        """In the reader's language."""
        return self.message_en if current_language.get() == "en" else self.message_ja


def _problem(where: int, column: str, msgid: str, **params: Any) -> ImportProblem:
    ja, en = (translations(language).gettext(msgid) % params for language in ("ja", "en"))
    return ImportProblem(where, column, ja, en)


@dataclass
class ImportRow:
    """One interview to import, as checked. `starts_at` UTC; `scores`: expert user id -> item key
    -> score; `interviewee_email` "" when the file gives none (a person without an address)."""

    line: int
    interviewee_name: str
    interviewee_email: str
    starts_at: datetime
    question_set: str
    version_id: str
    video: str
    interviewer_id: str
    scores: dict[str, dict[str, int]]

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "starts_at": self.starts_at.isoformat()}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ImportRow:
        return cls(**{**value, "starts_at": datetime.fromisoformat(value["starts_at"])})


@dataclass
class ImportCheck:
    """What would be imported (`rows`) and every problem; `ok` only without problems."""

    rows: list[ImportRow] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    encoding: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    def problems_of(self, line: int) -> list[ImportProblem]:
        return [p for p in self.problems if p.line == line]


def parse_date(value: str) -> datetime | None:
    """A date (midnight) or date and time in Japan time, as UTC; None when it is no such date.
    Full-width digits count as digits (NFKC: `２０２５年４月１日` is 2025-04-01)."""
    text = " ".join(unicodedata.normalize("NFKC", value).split())
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=TOKYO).astimezone(timezone.utc)
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class _ScoreColumn:
    column: str
    item: str
    expert_email: str


def _score_columns(header: list[str], problems: list[ImportProblem]) -> list[_ScoreColumn]:
    found = []
    for column in header:
        if not column.startswith(SCORE_PREFIX):
            continue
        _prefix, item, email = (column.split(":", 2) + ["", ""])[:3]
        email = normalise_email(email)
        if not item or not EMAIL_RE.fullmatch(email):
            problems.append(_problem(1, column, N_("A score column is named score:<item key>:<expert e-mail>.")))
            continue
        found.append(_ScoreColumn(column, item.strip(), email))
    return found


class _Tenant:
    """The tenant's question sets, experts and people, read once per check."""

    def __init__(self, scope: TenantScope) -> None:
        self.scope = scope
        self.versions: dict[str, Any] = {}
        self.sets_named: dict[str, int] = {}
        self.users: dict[str, User] = {}

    async def load(self, emails: set[str]) -> None:
        for qs in await self.scope.objects(QuestionSet):
            name = qs.name.strip()
            self.sets_named[name] = self.sets_named.get(name, 0) + 1
            version = await latest_version(self.scope, qs.id)
            if version is not None:
                self.versions[name] = version
        if emails:
            for user in await self.scope.objects(User).where(User.email.is_in(sorted(emails))):
                self.users[user.email] = user

    async def imported_before(self, email: str, name: str, starts_at: datetime) -> bool:
        """An earlier import already brought this interviewee's interview at that time: by the
        address, or for a row without one, by the name of a person imported without one."""
        imported = (Interview.starts_at == starts_at) & Interview.imported_from.is_not_null()
        if not email:
            return await self.scope.count(Interview).where(
                imported & (Interview.interviewee.display_name == name)
                & Interview.interviewee.email.like(f"%@{PLACEHOLDER_DOMAIN}")) > 0
        user = self.users.get(email)
        if user is None:
            return False
        return await self.scope.count(Interview).where(imported & (Interview.interviewee == user.id)) > 0


def _unreadable(data: bytes, language: str) -> str:
    """Why `read_csv` refuses `data`, in `language` (its message is made in the current one)."""
    token = current_language.set(language)
    try:
        read_csv(data)
    except CsvUnreadable as exc:
        return str(exc)
    finally:
        current_language.reset(token)
    return ""


def video_names(data: bytes) -> set[str]:
    """The file names a bulk-import CSV's `video` column gives (none when the file is unreadable)."""
    try:
        table = read_csv(data)
    except CsvUnreadable:
        return set()
    return {name for _line, row in table.rows if (name := row.get("video", "").strip())}


async def check_import(scope: TenantScope, data: bytes, probe_video: VideoProbe) -> ImportCheck:
    """Read and check a bulk-import CSV (`data`: the file's bytes, any encoding `read_csv` reads).

    Problems found: an unreadable file, more than MAX_ROWS rows, missing columns, a bad name, e-mail or date (or one to
    come), an unknown question set, item or expert, a score that is no whole number or off the
    item's scale, a required item left empty, no interviewer, a missing or unreadable video
    (`probe_video`), a row or video twice in the file, an interview imported before."""
    check = ImportCheck()
    try:
        table = read_csv(data)
    except CsvUnreadable:
        check.problems.append(ImportProblem(1, "", *(_unreadable(data, language) for language in ("ja", "en"))))
        return check
    check.encoding = table.encoding
    missing = [c for c in REQUIRED_COLUMNS if c not in table.header]
    if missing:
        check.problems.append(_problem(1, ", ".join(missing), N_("Missing columns in the header line.")))
        return check
    if len(table.rows) > MAX_ROWS:
        check.problems.append(_problem(1, "", N_("The file has %(n)s rows; import at most %(max)s at a time "
                                                   "(split the file)."), n=len(table.rows), max=MAX_ROWS))
        return check
    score_columns = _score_columns(table.header, check.problems)
    emails = {c.expert_email for c in score_columns}
    for _line, row in table.rows:
        emails.update(normalise_email(row.get(c, "")) for c in OPTIONAL_COLUMNS)
    tenant = _Tenant(scope)
    await tenant.load({e for e in emails if e})
    seen_rows: dict[tuple[str, datetime, str], int] = {}
    seen_videos: dict[str, int] = {}
    for line, values in table.rows:
        row = await _check_row(tenant, line, values, score_columns, probe_video, check.problems)
        if row is None:
            continue
        key = (row.interviewee_email or row.interviewee_name, row.starts_at, row.question_set)
        if key in seen_rows:
            check.problems.append(_problem(line, "", N_("The same interview as line %(line)s."), line=seen_rows[key]))
        seen_rows.setdefault(key, line)
        if row.video in seen_videos:
            check.problems.append(_problem(line, "video", N_("The same video as line %(line)s."),
                                           line=seen_videos[row.video]))
        seen_videos.setdefault(row.video, line)
        check.rows.append(row)
    if not table.rows:
        check.problems.append(_problem(1, "", N_("The file has no rows.")))
    check.problems.sort(key=lambda p: p.line)
    return check


async def _check_row(tenant: _Tenant, line: int, values: dict[str, str], score_columns: list[_ScoreColumn],
                     probe_video: VideoProbe, problems: list[ImportProblem]) -> ImportRow | None:
    """The row as it would be imported, or None when a problem leaves nothing to show of it."""
    found: list[ImportProblem] = []
    try:
        name = clean_text(values.get("interviewee_name", ""), label="interviewee_name", required=True)
    except TextProblem:
        name = ""
        found.append(_problem(line, "interviewee_name", N_("Give the interviewee's name (one line, at most 200 characters).")))
    email = normalise_email(values.get("interviewee_email", ""))
    if email and not EMAIL_RE.fullmatch(email):
        found.append(_problem(line, "interviewee_email", N_("Not a valid e-mail address.")))
    elif email and email in tenant.users and (tenant.users[email].role != "interviewee"
                                              or not tenant.users[email].active):
        found.append(_problem(line, "interviewee_email",
                              N_("This e-mail address belongs to a user who is not an active interviewee.")))
    starts_at = parse_date(values.get("interview_date", ""))
    if starts_at is None:
        found.append(_problem(line, "interview_date",
                              N_("Write the date as YYYY-MM-DD (or YYYY/MM/DD), optionally with HH:MM (Japan time).")))
    elif starts_at > datetime.now(timezone.utc):
        found.append(_problem(line, "interview_date", N_("The date lies ahead; only past interviews are imported.")))
    elif (email or name) and await tenant.imported_before(email, name, starts_at):
        found.append(_problem(line, "", N_("This interview was imported before.")))
    set_name = values.get("question_set", "").strip()
    version = tenant.versions.get(set_name)
    if version is None:
        found.append(_problem(line, "question_set", N_("No question set is named “%(name)s”."), name=set_name))
    elif tenant.sets_named[set_name] > 1:
        found.append(_problem(line, "question_set", N_("Several question sets are named “%(name)s”; rename one."),
                              name=set_name))
    video = values.get("video", "").strip()
    if not video:
        found.append(_problem(line, "video", N_("Give the video file's name.")))
    else:
        try:
            if await probe_video(video) is None:
                found.append(_problem(line, "video", N_("The video “%(name)s” is missing."), name=video))
        except ValueError:
            found.append(_problem(line, "video", N_("“%(name)s” is not a video that can be read."), name=video))
    scores = _scores(tenant, line, values, score_columns, version, found)
    interviewer_id = _interviewer(tenant, line, values, scores, found)
    problems.extend(found)
    if starts_at is None:
        return None
    return ImportRow(line=line, interviewee_name=name, interviewee_email=email, starts_at=starts_at,
                     question_set=set_name, version_id=str(version.id) if version else "", video=video,
                     interviewer_id=interviewer_id, scores=scores)


def _scores(tenant: _Tenant, line: int, values: dict[str, str], score_columns: list[_ScoreColumn], version: Any,
            found: list[ImportProblem]) -> dict[str, dict[str, int]]:
    items = {item.key: item for item in items_of(version)} if version is not None else {}
    scores: dict[str, dict[str, int]] = {}
    unreadable: set[tuple[str, str]] = set()  # (expert id, item key) of a score told wrong already
    for column in score_columns:
        value = values.get(column.column, "").strip()
        if not value:
            continue
        expert = tenant.users.get(column.expert_email)
        if expert is None or expert.role != "expert" or not expert.active:
            found.append(_problem(line, column.column, N_("%(email)s is not an active expert of this tenant."),
                                  email=column.expert_email))
            continue
        if version is None:
            continue
        item = items.get(column.item)
        if item is None:
            found.append(_problem(line, column.column, N_("The question set has no evaluation item “%(key)s”."),
                                  key=column.item))
            continue
        # At most 9 digits: int() of thousands of digits is slow, and refused past 4300.
        if not re.fullmatch(r"[+-]?\d{1,9}", value) or not item.scale_min <= int(value) <= item.scale_max:
            found.append(_problem(line, column.column, N_("“%(item)s” takes a whole number from %(low)s to %(high)s."),
                                  item=item.key, low=item.scale_min, high=item.scale_max))
            unreadable.add((str(expert.id), item.key))
            continue
        scores.setdefault(str(expert.id), {})[item.key] = int(value)
    for expert_id, given in scores.items():
        for key, item in items.items():
            if item.required and key not in given and (expert_id, key) not in unreadable:
                email = next(e for e, u in tenant.users.items() if str(u.id) == expert_id)
                found.append(_problem(line, f"{SCORE_PREFIX}{key}:{email}",
                                      N_("A score for “%(item)s” is required from every expert who scored."),
                                      item=key))
    return scores


def _interviewer(tenant: _Tenant, line: int, values: dict[str, str], scores: dict[str, dict[str, int]],
                 found: list[ImportProblem]) -> str:
    """The interviewer named in the row, else the first expert who scored it."""
    email = normalise_email(values.get("interviewer_email", ""))
    if email:
        user = tenant.users.get(email)
        if user is None or not user.active or user.role not in INTERVIEWER_ROLES:
            found.append(_problem(line, "interviewer_email",
                                  N_("%(email)s is not an active interviewer, expert or administrator."), email=email))
            return ""
        return str(user.id)
    if scores:
        return next(iter(scores))
    found.append(_problem(line, "interviewer_email", N_("Give an interviewer_email or at least one expert's scores.")))
    return ""
