"""Signed-in users on the main screens: latency percentiles and errors of a real `mendan serve`.

    python bench/load.py --db postgres [--workers 2] [--users 50] [--seconds 60] [--think-ms 1000]
    python bench/load.py --db sqlite

Makes a fresh database (PostgreSQL: a database of its own on --server, with Redis at --broker so
several web processes can run; SQLite: a file in a temporary data folder) and a tenant with the
product's own commands and functions: `mendan demo --interviews 0` (the tenant, its plugins), then
`--users` staff users (one admin in five, the others interviewers) and two scheduled interviews per
user. It starts `mendan serve --workers N`, signs every user in through the sign-in form (real
sessions and CSRF tokens; only failed sign-ins count against the per-address limit, so no limit is
raised), and has each user open the main screens its role may see (home, interviews, one of its
interviews, people, jobs, question sets, the AI model page) in turn for `--seconds`, waiting
`--think-ms` (0.5 to 1.5 times, at random) between pages like a person reading them.

Prints a table per screen, the largest number of PostgreSQL connections the server held, and a
last line of JSON: p50_ms, p95_ms, p99_ms, errors (answers other than 200, and failed requests),
requests, db, workers, users, load_1min. Target: p95_ms <= 150 with 0 errors on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# The repository's packages, not this folder's scripts (bench/billing.py would shadow `billing`).
sys.path[0] = str(ROOT)
MENDAN = str(Path(sys.executable).with_name("mendan"))
SLUG = "bench"
PASSWORD = "bench-load-password-2026"
HTML = {"accept": "text/html"}
SCREENS = ("home", "interviews", "interview", "people", "jobs", "question_sets", "ai_model")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(data_dir: Path, database_url: str, broker_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MENDAN_", "DATABASE_URL", "BROKER_URL"))}
    env.update(MENDAN_DATA_DIR=str(data_dir), MENDAN_SECRET_KEY="bench-load-" + secrets.token_hex(24),
               DATABASE_URL=database_url, MENDAN_QUEUE=f"mendan_bench_{secrets.token_hex(4)}")
    if broker_url:
        env["BROKER_URL"] = broker_url
    return env


async def postgres(server: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def seed(users: int) -> list[dict]:
    """The staff users and their interviews, through the product's functions (in this process, on the
    database the environment names); returns each user's e-mail, role and interview ids."""
    from core.auth.passwords import hash_password
    from core.config import Settings
    from core.db.tables import Tenant, User
    from core.interviews.question_sets import EvaluationItem, Question, create_question_set
    from core.interviews.schedule import schedule_interview
    from core.tenancy import TenantScope
    from mendan.app import create_app

    app = create_app(Settings.from_env())
    async with app.lifespan():
        tenant = await Tenant.objects().where(Tenant.slug == SLUG).first()
        scope = TenantScope(tenant.id)
        version = await create_question_set(
            scope, name="負荷試験 一次面接", questions=[Question("自己紹介をお願いします。")],
            items=[EvaluationItem(key="clarity", name="分かりやすさ", description="要点を簡潔に話せているか")])
        password_hash = hash_password(PASSWORD)
        staff = []
        now = datetime.now(timezone.utc)
        for n in range(users):
            role = "admin" if n % 5 == 0 else "interviewer"
            user = await scope.add(User(email=f"staff{n:03d}@bench.example", role=role,
                                        display_name=f"職員 {n:03d}", password_hash=password_hash))
            interviews = []
            for k in range(2):
                interviewee = await scope.add(User(email=f"candidate{n:03d}-{k}@bench.example", role="interviewee",
                                                   display_name=f"候補者 {n:03d}-{k}"))
                interview = await schedule_interview(
                    scope, kind="live", starts_at=now + timedelta(days=1 + k, minutes=n), interviewee_id=interviewee.id,
                    interviewer_id=user.id, expert_ids=[], version_id=version.id, title=f"面談 {n:03d}-{k}",
                    check=False)
                interviews.append(str(interview.id))
            staff.append({"email": user.email, "role": role, "interviews": interviews})
        return staff


def paths(interview_id: str) -> dict[str, str]:
    base = f"/t/{SLUG}"
    return {"home": f"{base}/", "interviews": f"{base}/interviews", "interview": f"{base}/interviews/{interview_id}",
            "people": f"{base}/people", "jobs": f"{base}/jobs", "question_sets": f"{base}/question-sets",
            "ai_model": f"{base}/ai_model/"}


async def sign_in(client: httpx.AsyncClient, email: str, *, slug: str = SLUG, password: str = PASSWORD) -> None:
    """Through the sign-in form, as a person does (bench/pages.py signs the demo's users in with it)."""
    await client.get(f"/t/{slug}/login", headers=HTML)
    answer = await client.post(f"/t/{slug}/login", headers=HTML, data={
        "email": email, "password": password, "_csrf_token": client.cookies["csrftoken"]})
    if answer.status_code != 302:
        raise SystemExit(f"sign-in of {email} answered {answer.status_code}: {answer.text[:300]}")


async def probe(base_url: str, staff: list[dict]) -> dict[str, list[str]]:
    """The screens each role may open (200); others are left out and said so, a 5xx stops the bench."""
    allowed: dict[str, list[str]] = {}
    for person in staff:
        if person["role"] in allowed:
            continue
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            await sign_in(client, person["email"])
            allowed[person["role"]] = []
            for screen, path in paths(person["interviews"][0]).items():
                status = (await client.get(path, headers=HTML)).status_code
                if status >= 500:
                    raise SystemExit(f"{screen} ({path}) answered {status} for an {person['role']}")
                if status == 200:
                    allowed[person["role"]].append(screen)
                else:
                    print(f"{person['role']}: {screen} answers {status}, left out")
    return allowed


async def drive(base_url: str, staff: list[dict], allowed: dict[str, list[str]], seconds: float,
                think_ms: float) -> list[tuple[str, float, bool]]:
    """Every user signed in, then opening its screens in turn until the time is up:
    (screen, seconds, ok) per request."""
    results: list[tuple[str, float, bool]] = []
    clients = [httpx.AsyncClient(base_url=base_url, timeout=60) for _ in staff]
    try:
        # Signed in a few at a time: password hashing is deliberately slow, and it is not what is measured.
        signing_in = asyncio.Semaphore(4)

        async def signed_in(client: httpx.AsyncClient, email: str) -> None:
            async with signing_in:
                await sign_in(client, email)

        await asyncio.gather(*(signed_in(c, p["email"]) for c, p in zip(clients, staff)))
        stop_at = time.monotonic() + seconds

        async def user(client: httpx.AsyncClient, person: dict) -> None:
            screens = allowed[person["role"]]
            turn = random.randrange(len(screens))
            while time.monotonic() < stop_at:
                screen = screens[turn % len(screens)]
                turn += 1
                path = paths(random.choice(person["interviews"]))[screen]
                started = time.perf_counter()
                try:
                    ok = (await client.get(path, headers=HTML)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                results.append((screen, time.perf_counter() - started, ok))
                await asyncio.sleep(think_ms / 1000 * random.uniform(0.5, 1.5))

        await asyncio.gather(*(user(c, p) for c, p in zip(clients, staff)))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return results


async def count_connections(server: str, database: str, stop: asyncio.Event) -> int:
    """The most client connections to `database` seen while the bench ran (sampled every 0.5 s)."""
    import asyncpg

    conn = await asyncpg.connect(f"{server}/postgres")
    most = 0
    try:
        while not stop.is_set():
            most = max(most, await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
                database))
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    return most


def percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] * 1000


def figures(latencies: list[float]) -> dict[str, float]:
    return {f"p{p}_ms": round(percentile(latencies, p), 1) for p in (50, 95, 99)}


def start_server(env: dict[str, str], port: int, workers: int, log_path: Path) -> subprocess.Popen:
    with log_path.open("ab") as log:
        server = subprocess.Popen([MENDAN, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                                   str(workers)], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    deadline = time.monotonic() + 180
    while True:
        if server.poll() is not None:
            raise SystemExit(f"mendan serve stopped ({server.returncode}); see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"mendan serve did not answer in 180 s; see {log_path}")
        time.sleep(0.5)  # polling the server's start, not synchronising a test


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", type=int, default=None, help="web processes (default: 2 on PostgreSQL, 1 on SQLite)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think-ms", type=float, default=1000, help="mean pause between a user's pages")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0", help="broker for several web processes")
    args = parser.parse_args()
    workers = args.workers or (2 if args.db == "postgres" else 1)
    data_dir = Path(tempfile.mkdtemp(prefix="mendan-bench-load-"))
    server_url = args.server.rstrip("/")
    database = f"mendan_bench_load_{secrets.token_hex(4)}"
    if args.db == "postgres":
        asyncio.run(postgres(server_url, f"CREATE DATABASE {database}"))
        env = environment(data_dir, f"{server_url}/{database}", args.broker)
    else:
        env = environment(data_dir, f"sqlite:///{data_dir / 'mendan.sqlite'}", args.broker if workers > 1 else None)
    server = None
    try:
        subprocess.run([MENDAN, "demo", "--slug", SLUG, "--interviews", "0"], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        os.environ.clear()
        os.environ.update(env)
        staff = asyncio.run(seed(args.users))
        port = free_port()
        server = start_server(env, port, workers, data_dir / "serve.log")
        base_url = f"http://127.0.0.1:{port}"
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would load this machine
        allowed = asyncio.run(probe(base_url, staff))

        async def run() -> tuple[list, int | None]:
            stop = asyncio.Event()
            counter = (asyncio.create_task(count_connections(server_url, database, stop))
                       if args.db == "postgres" else None)
            try:
                results = await drive(base_url, staff, allowed, args.seconds, args.think_ms)
            finally:
                stop.set()
            return results, (await counter if counter else None)

        results, connections = asyncio.run(run())
        load_1min = os.getloadavg()[0]
    finally:
        if server is not None:
            stop_server(server)
        if args.db == "postgres":
            asyncio.run(postgres(server_url, f"DROP DATABASE {database} WITH (FORCE)"))

    print(f"{'screen':14s} {'requests':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'errors':>6s}")
    for screen in SCREENS:
        rows = [r for r in results if r[0] == screen]
        if rows:
            f = figures([r[1] for r in rows])
            print(f"{screen:14s} {len(rows):8d} {f['p50_ms']:8.1f} {f['p95_ms']:8.1f} {f['p99_ms']:8.1f} "
                  f"{sum(not r[2] for r in rows):6d}")
    if connections is not None:
        print(f"PostgreSQL connections held by the server at most: {connections}")
    print(f"load average (1 min) at the end: {load_1min:.2f} on {os.cpu_count()} cores")
    print(json.dumps({**figures([r[1] for r in results]), "errors": sum(not r[2] for r in results),
                      "requests": len(results), "db": args.db, "workers": workers, "users": args.users,
                      "seconds": args.seconds, "think_ms": args.think_ms, "db_connections_max": connections,
                      "load_1min": round(load_1min, 2)}))


if __name__ == "__main__":
    main()
