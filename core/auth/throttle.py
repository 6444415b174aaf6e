"""Limits on guessing: failed sign-ins per account and per client address, and password-reset
requests per address and per e-mail address, counted with the `limits` library (moving windows).

Only failures count: the eleventh colleague behind one office address still signs in at 9:00.
The per-address limit is higher than the per-account one, so one address cannot lock many
accounts quickly, and one account is not guessed from many addresses either. Counters live in
Redis when the broker is Redis (shared by every web process), else in this process's memory.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.storage import storage_from_string
from limits.aio.strategies import MovingWindowRateLimiter

from core.config import Settings


def limits_storage(settings: Settings) -> Storage:
    """Where `limits` counters live: the broker's Redis (through redis-py, which dramatiq already
    brings), else this process's memory. Nothing connects until the first count."""
    if settings.broker_kind == "redis":
        return storage_from_string("async+" + settings.broker_url, implementation="redispy")
    return storage_from_string("async+memory://")


@dataclass
class Throttle:
    """Counters for one kind of attempt, under several keys (account, address) at once."""

    limiter: MovingWindowRateLimiter
    limits: dict[str, RateLimitItem]  # key kind ("account", "address") -> its limit

    async def wait_seconds(self, keys: dict[str, str]) -> int:
        """0 when another attempt is allowed under every key; else whole seconds until it is."""
        wait = 0.0
        for kind, key in keys.items():
            item = self.limits[kind]
            if not await self.limiter.test(item, key):
                stats = await self.limiter.get_window_stats(item, key)
                wait = max(wait, stats.reset_time - time.time(), 1.0)
        return math.ceil(wait)

    async def count(self, keys: dict[str, str]) -> None:
        """Count one attempt under every key."""
        for kind, key in keys.items():
            await self.limiter.hit(self.limits[kind], key)

    async def clear(self, kind: str, key: str) -> None:
        await self.limiter.clear(self.limits[kind], key)


class Throttles:
    """The process's throttles, made from the settings (`MENDAN_SIGNIN_*`, `MENDAN_RESET_*`)."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        limiter = MovingWindowRateLimiter(storage or limits_storage(settings))
        self.sign_in = Throttle(limiter, {"account": parse(settings.signin_account_limit),
                                          "address": parse(settings.signin_address_limit)})
        self.reset = Throttle(limiter, {"account": parse(settings.reset_account_limit),
                                        "address": parse(settings.reset_address_limit)})


def keys(kind: str, tenant_id: object, email: str, address: str) -> dict[str, str]:
    """The counter keys of an attempt: the account (tenant and e-mail address, whether or not it
    exists, so the answer tells nothing) and the client address."""
    return {"account": f"{kind}:account:{tenant_id or 'operators'}:{email.strip().lower()}",
            "address": f"{kind}:address:{address}"}
