"""The meter catalogue: what can be billed, from the installed plugins' metadata.

Meters come from each plugin's `PluginMeta.meters`; options (plugins of kind
`option`) carry a monthly fee while enabled. Prices live in billing's `Price` table,
set by operators, so the catalogue says what exists and the price table what it costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from core.plugins import Meter, PluginHost
from billing.tables import Price


@dataclass(frozen=True)
class CatalogueMeter:
    plugin_key: str
    meter: Meter

    @property
    def key(self) -> str:
        return self.meter.key

    def name(self, language: str) -> str:
        return self.meter.name_ja if language == "ja" else self.meter.name_en


@dataclass(frozen=True)
class CatalogueOption:
    key: str
    name_ja: str
    name_en: str

    def name(self, language: str) -> str:
        return self.name_ja if language == "ja" else self.name_en


class UnknownMeter(KeyError):
    """A usage row for a meter that no installed plugin declares."""


def meters(host: PluginHost) -> dict[str, CatalogueMeter]:
    return {
        m.key: CatalogueMeter(plugin_key=key, meter=m)
        for key, meta in sorted(host.metas.items())
        for m in meta.meters
    }


def options(host: PluginHost) -> dict[str, CatalogueOption]:
    return {
        key: CatalogueOption(key=key, name_ja=meta.name_ja, name_en=meta.name_en)
        for key, meta in sorted(host.metas.items())
        if meta.kind == "option"
    }


async def prices(kind: str) -> dict[str, Price]:
    return {p.key: p for p in await Price.objects().where(Price.kind == kind)}


async def set_price(kind: str, key: str, **values: object) -> Price:
    """Create or change the price row of one meter or option."""
    row = await Price.objects().where((Price.kind == kind) & (Price.key == key)).first()
    if row is None:
        row = Price(kind=kind, key=key)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = datetime.now(timezone.utc)
    await row.save()
    return row
