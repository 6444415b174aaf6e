"""Usage rows recorded per second into the ledger, and shipped per second to Stripe as
billing meter events (through the stripe-python SDK, against the local fake Stripe).

    python bench/billing.py --rows 2000   [--database-url postgresql://postgres@127.0.0.1/mendan_bench]

A fresh SQLite database in a temporary folder unless --database-url is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from billing.ledger import record_usage  # noqa: E402
from billing.shipping import IN_FLIGHT, ship_pending  # noqa: E402
from billing.tables import UsageDelivery, UsageRow  # noqa: E402
from mendan.app import create_app  # noqa: E402
from core.config import Settings  # noqa: E402
from mendan.assembly import migrate  # noqa: E402
from core.plugins import PluginHost  # noqa: E402
from core.storage import BlobStore  # noqa: E402
from core.tenancy import create_tenant  # noqa: E402
from tests.billing_fixtures import INTERVIEWS, connect_to_stripe, register_billing_plugins  # noqa: E402
from tests.stripe_fake import FakeStripe  # noqa: E402


async def run(rows: int, database_url: str | None) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="mendan-bench-billing-"))
    settings = Settings(data_dir=data_dir, database_url=database_url or f"sqlite:///{data_dir / 'mendan.sqlite'}",
                        secret_key="bench-" + "x" * 40)
    await migrate(settings)
    host = PluginHost()
    register_billing_plugins(host)
    create_app(settings, host=host)  # binds the database and the runtime, as the service does
    fake = FakeStripe().start()
    os.environ["STRIPE_API_KEY"], os.environ["STRIPE_API_BASE"] = fake.api_key, fake.url
    try:
        tenant = await create_tenant(BlobStore.from_settings(settings), slug=f"bench-{secrets.token_hex(3)}",
                                     name="Bench")
        await connect_to_stripe(tenant, INTERVIEWS)

        started = time.perf_counter()
        for n in range(rows):
            await record_usage(tenant, INTERVIEWS, 1, act=f"interview:{n}")
        record_s = time.perf_counter() - started
        print(f"recorded {rows} rows in {record_s:.2f} s", flush=True)

        started = time.perf_counter()
        counts = await ship_pending()
        ship_s = time.perf_counter() - started
        print(f"shipped {dict(counts)} in {ship_s:.2f} s ({IN_FLIGHT} in flight)", flush=True)

        stored = await UsageRow.count().where(UsageRow.tenant == tenant.id)
        delivered = await UsageDelivery.count().where(UsageDelivery.tenant == tenant.id)
        assert stored == delivered == counts["sent"] == len(fake.events) == rows, (stored, delivered, counts)
    finally:
        fake.stop()
    return {
        "rows": rows,
        "database": settings.database_kind,
        "rows_recorded_per_second": round(rows / record_s, 1),
        "rows_shipped_per_second": round(rows / ship_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.rows, args.database_url))))


if __name__ == "__main__":
    main()
