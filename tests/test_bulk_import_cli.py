"""`mendan import-interviews`, run as an administrator runs it: a process with its own data folder,
a CSV and a folder of videos."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.video_files import make_video

MENDAN = [sys.executable, "-c", "from mendan.cli import main; main()"]
SETUP = """
import asyncio
from core.config import Settings, use_settings
from core.db.engine import bind_engine, make_engine
from core.db.tables import User
from core.interviews.question_sets import EvaluationItem, Question, create_question_set
from core.storage import BlobStore
from core.tenancy import TenantScope, create_tenant
from mendan.assembly import assemble

async def main():
    settings = use_settings(Settings.from_env())
    bind_engine(make_engine(settings))
    assemble()
    tenant = await create_tenant(BlobStore.from_settings(settings), slug="kako", name="過去株式会社")
    scope = TenantScope(tenant.id)
    await scope.add(User(email="expert@kako.example", role="expert", display_name="熟練 一郎"))
    await create_question_set(scope, name="一次面接", questions=[Question("自己紹介をお願いします。")],
                              items=[EvaluationItem(key="warmth", name="Warmth"),
                                     EvaluationItem(key="composure", name="Composure")])

asyncio.run(main())
"""


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MENDAN_DATA_DIR": str(data_dir), "MENDAN_BASE_URL": "http://127.0.0.1:8000"}
    for name in ("DATABASE_URL", "BROKER_URL", "MENDAN_ENV"):
        env.pop(name, None)
    return subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=600)


def test_the_command_refuses_a_file_with_problems_then_imports_a_clean_one(tmp_path):
    data = tmp_path / "data"
    migrated = run(data, *MENDAN, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    setup = run(data, sys.executable, "-c", SETUP)
    assert setup.returncode == 0, setup.stderr
    videos = tmp_path / "videos"
    videos.mkdir()
    make_video(videos / "佐藤.mp4", seconds=0.5, size=(64, 48))
    make_video(videos / "鈴木.webm", seconds=0.5, size=(64, 48))
    header = ("interviewee_name,interviewee_email,interview_date,question_set,video,"
              "score:warmth:expert@kako.example,score:composure:expert@kako.example\r\n")
    bad = tmp_path / "bad.csv"
    bad.write_bytes((header + "佐藤 花子,hanako@example.jp,2025-04-01,一次面接,佐藤.mp4,4,7\r\n"
                     "鈴木 一郎,,2025-04-02,一次面接,田中.mp4,3,3\r\n").encode("cp932"))
    source = "紙の同意書（録画とAI学習）、人事部で保管"

    refused = run(data, *MENDAN, "import-interviews", str(bad), "--videos", str(videos), "--tenant", "kako",
                  "--consent-source", source)
    assert refused.returncode == 1
    assert "line 2 [score:composure:expert@kako.example]" in refused.stderr
    assert "「composure」は1〜5の整数で記入してください。 / “composure” takes a whole number from 1 to 5." in refused.stderr
    assert "line 3 [video]" in refused.stderr and "田中.mp4" in refused.stderr

    good = tmp_path / "good.csv"
    good.write_bytes((header + "佐藤 花子,hanako@example.jp,2025-04-01,一次面接,佐藤.mp4,4,5\r\n"
                      "鈴木 一郎,,2025-04-02 15:00,一次面接,鈴木.webm,3,3\r\n").encode("utf-16"))
    done = run(data, *MENDAN, "import-interviews", str(good), "--videos", str(videos), "--tenant", "kako",
               "--consent-source", source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 interviews, 0 problems" in done.stdout

    with sqlite3.connect(data / "mendan.sqlite") as db:
        imported = db.execute("SELECT count(*) FROM mendan_interview WHERE imported_from IS NOT NULL").fetchone()
        sources = db.execute("SELECT DISTINCT purpose, source FROM tenants_consent_record").fetchall()
        recordings = db.execute("SELECT count(*) FROM mendan_recording WHERE state = 'complete'").fetchone()
        state = db.execute("SELECT state, interviews FROM mendan_interview_import").fetchall()
    assert imported == (2,) and recordings == (2,)
    assert sorted(sources) == [("recording", source), ("training", source)]
    assert state == [("done", 2)]
