"""How fast a recording uploads through the real server on loopback, and how much memory it takes.

    python bench/upload.py --mb 500        # goal: at least 50 MB/s, memory flat whatever the size
    python bench/upload.py --mb 50 --chunk-mb 8

It starts `uvicorn mendan.app:create_app` on a fresh data folder (SQLite, embedded worker),
signs an interviewee in (interviewees hold no API tokens), and uploads a short real MP4 padded with
random bytes to --mb megabytes, in resumable chunks with per-chunk SHA-256, to completion
(join, whole-file SHA-256, PyAV probe). The client streams from disk; hashing the file
first is timed apart. The last line is JSON: mb_per_s (upload start to completed
recording), peak_rss_mb (the server process), and the figures behind them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BLOCK = 1024 * 1024


GUEST_PASSWORD = "bench-guest-passphrase"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def prepare(settings) -> tuple[str, str]:
    """A tenant with every plugin switched off (no analysis runs), an interview, consent, and the
    interviewee's sign-in (email, password)."""
    from core.auth.passwords import hash_password
    from core.db.engine import bind_engine, make_engine
    from mendan.assembly import migrate
    from core.db.tables import User
    from core.interviews.question_sets import EvaluationItem, Question, create_question_set
    from core.interviews.schedule import schedule_interview
    from core.plugins import get_plugin_host
    from core.storage import BlobStore
    from core.tenancy import TenantScope, create_tenant
    from tenants.consent import current_consent, record_consent

    await migrate(settings)
    bind_engine(make_engine(settings))
    tenant = await create_tenant(BlobStore.from_settings(settings), slug="bench", name="Bench")
    host = get_plugin_host()
    for key in host.metas:
        await host.set_enabled(tenant.id, key, False)
    scope = TenantScope(tenant.id)
    guest = await scope.add(User(email="guest@bench.test", role="interviewee", display_name="Guest",
                                 password_hash=hash_password(GUEST_PASSWORD)))
    version = await create_question_set(scope, name="Bench", questions=[Question(text="Hello?")],
                                        items=[EvaluationItem(key="", name="Clarity")])
    now = datetime.now(timezone.utc)
    interview = await schedule_interview(scope, kind="self", starts_at=now, ends_at=now + timedelta(days=7),
                                         interviewee_id=guest.id, interviewer_id=None, expert_ids=[],
                                         version_id=version.id)
    text = await current_consent(tenant.id, "recording")
    await record_consent(tenant.id, guest.id, "recording", text.version)
    return f"/t/bench/interviews/{interview.id}/uploads"


def make_file(path: Path, mb: int) -> None:
    from tests.video_files import make_video

    make_video(path, seconds=1)
    with path.open("ab") as fh:
        remaining = mb * 1024 * 1024 - path.stat().st_size
        while remaining > 0:
            fh.write(os.urandom(min(remaining, 16 * BLOCK)))
            remaining -= 16 * BLOCK
        fh.truncate(mb * 1024 * 1024)


def sha256_of(path: Path, start: int = 0, length: int | None = None) -> hashlib._Hash:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        fh.seek(start)
        left = length if length is not None else path.stat().st_size - start
        while left > 0 and (block := fh.read(min(BLOCK, left))):
            digest.update(block)
            left -= len(block)
    return digest


def chunk_body(path: Path, start: int, length: int):
    with path.open("rb") as fh:
        fh.seek(start)
        while length > 0 and (block := fh.read(min(BLOCK, length))):
            length -= len(block)
            yield block


class PeakRss(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def now_mb(self) -> float:
        return self.process.memory_info().rss / 2**20

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--chunk-mb", type=int, default=16)
    args = parser.parse_args()

    import httpx

    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        data = Path(tmp)
        env = {**os.environ, "MENDAN_DATA_DIR": str(data / "data"), "MENDAN_SECRET_KEY": "bench-" + "x" * 40,
               "MENDAN_UPLOAD_MAX_BYTES": str((args.mb + 1) * 2**20), "MENDAN_QUEUE": "mendan_bench"}
        env.pop("DATABASE_URL", None)
        env.pop("BROKER_URL", None)
        os.environ.update(env)
        from core.config import Settings, use_settings

        settings = use_settings(Settings.from_env())
        endpoint = asyncio.run(prepare(settings))

        video = data / "answer.mp4"
        make_file(video, args.mb)
        size = video.stat().st_size
        started = time.perf_counter()
        whole = sha256_of(video).hexdigest()
        hash_s = time.perf_counter() - started

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "mendan.app:create_app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            env=env, cwd=Path(__file__).resolve().parents[1])
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, headers={"tus-resumable": "1.0.0"}, timeout=600) as client:
                for _ in range(300):
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                client.get("/t/bench/login", headers={"accept": "text/html"})
                csrf = client.cookies["csrftoken"]
                client.post("/t/bench/login", data={"email": "guest@bench.test", "password": GUEST_PASSWORD,
                                                    "_csrf_token": csrf}, headers={"accept": "text/html"})
                client.headers["x-csrftoken"] = csrf
                watch = PeakRss(server.pid)
                baseline_mb = watch.now_mb()
                watch.start()
                began = time.perf_counter()
                created = client.post(endpoint, json={"size": size, "sha256": whole, "filename": "answer.mp4"})
                created.raise_for_status()
                location = created.headers["location"]
                chunk = args.chunk_mb * 2**20
                response = None
                for offset in range(0, size, chunk):
                    length = min(chunk, size - offset)
                    checksum = base64.b64encode(sha256_of(video, offset, length).digest()).decode()
                    response = client.patch(location, content=chunk_body(video, offset, length), headers={
                        "content-type": "application/offset+octet-stream", "upload-offset": str(offset),
                        "upload-checksum": f"sha256 {checksum}", "content-length": str(length)})
                    if response.status_code != 204:
                        raise SystemExit(f"chunk at {offset}: {response.status_code} {response.text}")
                seconds = time.perf_counter() - began
                watch.running = False
                watch.join()
                state = response.headers.get("upload-state")
        finally:
            server.terminate()
            server.wait(10)

    mb = size / 2**20
    print(f"uploaded {mb:.0f} MB in {args.chunk_mb} MB chunks in {seconds:.2f} s ({mb / seconds:.1f} MB/s), "
          f"state {state}; client hashing took {hash_s:.2f} s")
    print(f"server RSS: {baseline_mb:.0f} MB before, {watch.peak / 2**20:.0f} MB at peak")
    print(json.dumps({
        "mb": round(mb), "chunk_mb": args.chunk_mb, "seconds": round(seconds, 3), "mb_per_s": round(mb / seconds, 1),
        "state": state, "peak_rss_mb": round(watch.peak / 2**20, 1), "baseline_rss_mb": round(baseline_mb, 1),
        "client_hash_s": round(hash_s, 3),
        "client_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
