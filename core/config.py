"""Settings from the environment, with embedded defaults for a single machine.

Every setting has a default that runs the whole service from one data folder:
SQLite, an in-process Dramatiq worker, a local encrypted blob folder and a mail
outbox folder. Production switches each piece by environment variable.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlparse


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    broker_url: str | None = None
    queue_name: str = "mendan"  # prefix of the broker's queues, so deployments can share a broker
    master_key: str | None = None
    secret_key: str | None = None
    environment: str = "development"
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: str | None = None
    smtp_ca_file: str | None = None  # a private CA for the SMTP server's certificate
    mail_from: str = "no-reply@mendan.localhost"
    upload_max_bytes: int = 4 * 1024**3
    # An unfinished upload with no chunk for this long is expired by the sweep (its parts deleted).
    upload_expiry_hours: int = 24
    # An upload with a chunk in the last this many seconds is making progress: ending a live
    # interview waits for it; one idle longer no longer holds the end back.
    upload_progress_seconds: int = 30
    # Bytes of recordings a tenant may keep (complete ones plus what open uploads reserve);
    # an operator may set another limit per tenant (Tenant.storage_quota_bytes).
    tenant_storage_quota_bytes: int = 1024**4
    room_opens_before_minutes: int = 30  # a personal link leads in from this long before the slot
    room_closes_after_minutes: int = 120  # ... until this long after the slot's end
    # Failed sign-ins allowed per account and per client address, and password-reset requests per
    # e-mail address and per client address, in a moving window (`limits` notation).
    signin_account_limit: str = "5/15minutes"
    signin_address_limit: str = "50/15minutes"
    reset_account_limit: str = "3/hour"
    reset_address_limit: str = "10/hour"
    api_rate_limit: str = "600/minute"  # per API token, in the `limits` notation ("100/second", "5000/hour")
    session_days: int = 14
    # Proxies whose X-Forwarded-For is believed (addresses or CIDRs; none by default): uvicorn's
    # forwarded_allow_ips, so client addresses (audit, sign-in limits) cannot be forged.
    trusted_proxies: tuple[str, ...] = ()
    # Who may read /metrics, /readyz and /schema in production besides signed-in operators.
    internal_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    allowed_emotion_regions: tuple[str, ...] = ("JP",)
    job_max_retries: int = 3  # runs after the first, before a job is marked failed
    job_min_backoff_ms: int = 500  # the first retry's delay; it doubles each time
    # A worker stamps each job it runs this often; a job unstamped for `worker_lost_after_s` is shown
    # "worker lost" and its message goes to another worker (Redis: the broker's heartbeat timeout too).
    job_heartbeat_s: float = 5.0
    worker_lost_after_s: float = 20.0
    blob_backend: str = "local"  # local (data folder) | s3 (S3-compatible object storage)
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None  # unset: AWS itself; else MinIO, Ceph, Wasabi, ...
    s3_region: str | None = None
    s3_prefix: str = ""  # key prefix inside the bucket, so deployments can share one
    s3_part_size: int = 8 * 1024**2  # multipart upload part size (S3's minimum is 5 MiB)
    # PostgreSQL connections: each web process's pool, and the pool its job worker threads and
    # commands share (docs/architecture.md, "Database connections").
    db_pool_min: int = 2
    db_pool_max: int = 10
    db_shared_pool_max: int = 4

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("MENDAN_DATA_DIR", "data")).resolve()
        return cls(
            data_dir=data_dir,
            database_url=_env("DATABASE_URL", f"sqlite:///{data_dir / 'mendan.sqlite'}"),
            broker_url=_env("BROKER_URL"),
            queue_name=_env("MENDAN_QUEUE", "mendan"),
            master_key=_env("MENDAN_MASTER_KEY"),
            secret_key=_env("MENDAN_SECRET_KEY"),
            environment=_env("MENDAN_ENV", "development"),
            base_url=_env("MENDAN_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            smtp_url=_env("SMTP_URL"),
            smtp_ca_file=_env("SMTP_CA_FILE"),
            mail_from=_env("MENDAN_MAIL_FROM", "no-reply@mendan.localhost"),
            upload_max_bytes=int(_env("MENDAN_UPLOAD_MAX_BYTES", str(4 * 1024**3))),
            upload_expiry_hours=int(_env("MENDAN_UPLOAD_EXPIRY_HOURS", "24")),
            upload_progress_seconds=int(_env("MENDAN_UPLOAD_PROGRESS_SECONDS", "30")),
            tenant_storage_quota_bytes=int(_env("MENDAN_TENANT_STORAGE_QUOTA_BYTES", str(1024**4))),
            room_opens_before_minutes=int(_env("MENDAN_ROOM_OPENS_BEFORE_MINUTES", "30")),
            room_closes_after_minutes=int(_env("MENDAN_ROOM_CLOSES_AFTER_MINUTES", "120")),
            signin_account_limit=_env("MENDAN_SIGNIN_ACCOUNT_LIMIT", "5/15minutes"),
            signin_address_limit=_env("MENDAN_SIGNIN_ADDRESS_LIMIT", "50/15minutes"),
            reset_account_limit=_env("MENDAN_RESET_ACCOUNT_LIMIT", "3/hour"),
            reset_address_limit=_env("MENDAN_RESET_ADDRESS_LIMIT", "10/hour"),
            trusted_proxies=_csv(_env("MENDAN_TRUSTED_PROXIES", "")),
            internal_networks=_csv(_env("MENDAN_INTERNAL_NETWORKS", "127.0.0.0/8,::1/128")),
            api_rate_limit=_env("MENDAN_API_RATE_LIMIT", "600/minute"),
            job_max_retries=int(_env("MENDAN_JOB_MAX_RETRIES", "3")),
            job_min_backoff_ms=int(_env("MENDAN_JOB_MIN_BACKOFF_MS", "500")),
            job_heartbeat_s=float(_env("MENDAN_JOB_HEARTBEAT_S", "5")),
            worker_lost_after_s=float(_env("MENDAN_WORKER_LOST_AFTER_S", "20")),
            blob_backend=_env("MENDAN_BLOB_BACKEND", "local").lower(),
            s3_bucket=_env("MENDAN_S3_BUCKET"),
            s3_endpoint_url=_env("MENDAN_S3_ENDPOINT_URL"),
            s3_region=_env("MENDAN_S3_REGION"),
            s3_prefix=_env("MENDAN_S3_PREFIX", ""),
            s3_part_size=int(_env("MENDAN_S3_PART_SIZE", str(8 * 1024**2))),
            db_pool_min=int(_env("MENDAN_DB_POOL_MIN", "2")),
            db_pool_max=int(_env("MENDAN_DB_POOL_MAX", "10")),
            db_shared_pool_max=int(_env("MENDAN_DB_SHARED_POOL_MAX", "4")),
            allowed_emotion_regions=tuple(
                r.strip().upper()
                for r in _env("MENDAN_EMOTION_REGIONS", "JP").split(",")
                if r.strip()
            ),
        )

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def database_kind(self) -> str:
        scheme = urlparse(self.database_url).scheme
        if scheme.startswith("postgres"):
            return "postgres"
        if scheme == "sqlite":
            return "sqlite"
        raise ValueError(f"unsupported DATABASE_URL scheme: {scheme!r}")

    @property
    def broker_kind(self) -> str:
        if not self.broker_url:
            return "embedded"
        scheme = urlparse(self.broker_url).scheme
        if scheme in ("redis", "rediss"):
            return "redis"
        if scheme in ("amqp", "amqps"):
            return "rabbitmq"
        raise ValueError(f"unsupported BROKER_URL scheme: {scheme!r}")

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @cached_property
    def session_secret(self) -> str:
        """The secret for CSRF tokens: from the environment, else kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        return _read_or_create_secret(self.data_dir / "secret.key")


def _read_or_create_secret(path: Path) -> str:
    if os.environ.get("MENDAN_ENV") == "production" and not path.exists():
        raise RuntimeError("MENDAN_SECRET_KEY must be set in production")
    value, _created = read_or_create_secret_file(path, lambda: secrets.token_urlsafe(48))
    return value


def read_or_create_secret_file(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The secret kept in `path`, made with `make()` the first time; (value, whether it was made now).

    Written aside, then linked into place: a web process and workers may start together,
    and none of them may read a half-written secret or replace another's.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
        try:
            os.link(tmp, path)
            created = True
        except FileExistsError:
            created = False
        finally:
            tmp.unlink()
        return path.read_text().strip(), created
    return path.read_text().strip(), False


_current: Settings | None = None


def get_settings() -> Settings:
    """The settings of this process: set by `use_settings`, else read from the environment once."""
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current


def use_settings(settings: Settings) -> Settings:
    global _current
    _current = settings
    return settings
