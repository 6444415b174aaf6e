"""Per-tenant plugin settings (Saleor's PluginConfiguration): a typed schema, checked values,
sealed secrets.

A plugin declares its settings as a dataclass on `PluginMeta.settings`; every field has a
default and a type among bool, int, float and str, and its `metadata` says how it is shown
and bounded:

    label_ja, label_en  (required) the field's label
    unit                shown after the field ("fps", "秒")
    min, max            bounds of a number; for a str, its length
    choices             the allowed values (shown as a list)
    choice_labels       {value: (label ja, label en)}: how each choice is named in the form
    secret              stored sealed under the tenant's data key, never shown back
    operator_only       only operators see and change it (in /ops/)

The values of a tenant live in `PluginSetting.config` as `{field: value}`; a secret as
`{"sealed": base64}`. What is not stored (or no longer valid for the schema) reads as
the default.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
import typing
from dataclasses import dataclass
from typing import Any

import structlog

from core.storage import TenantKey, open_value, seal_value
from core.web.i18n import gettext as _

log = structlog.get_logger("mendan.plugins")

SUPPORTED_TYPES = (bool, int, float, str)
_KNOWN_METADATA = {"label_ja", "label_en", "unit", "min", "max", "choices", "choice_labels", "secret",
                   "operator_only", "help_ja", "help_en"}


class SchemaError(ValueError):
    """A plugin's settings schema that the host cannot offer (the plugin is refused)."""


class SettingsInvalid(ValueError):
    """Form values that do not fit the schema; `errors` maps field name to a translated message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class SettingField:
    """One field of a settings schema, as the forms show it."""

    name: str
    type: type
    default: Any
    label_ja: str
    label_en: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] = ()
    secret: bool = False
    operator_only: bool = False
    help_ja: str = ""
    help_en: str = ""
    choice_labels: tuple[tuple[Any, str, str], ...] = ()  # (value, label ja, label en)

    def label(self, language: str) -> str:
        return self.label_ja if language == "ja" else self.label_en

    def choice_label(self, value: Any, language: str) -> str:
        """How the choice `value` is named in `language`; the value itself where the plugin gave no label."""
        for choice, ja, en in self.choice_labels:
            if choice == value:
                return ja if language == "ja" else en
        return str(value)

    def help(self, language: str) -> str:
        return self.help_ja if language == "ja" else self.help_en

    @property
    def input_type(self) -> str:
        """The HTML input type of the field."""
        if self.choices:
            return "select"
        if self.type is bool:
            return "checkbox"
        if self.secret:
            return "password"
        return "number" if self.type in (int, float) else "text"


def schema_fields(schema: type) -> list[SettingField]:
    """The fields of a settings dataclass; SchemaError when it is not one the host can offer."""
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        raise SchemaError("settings must be a dataclass")
    try:
        hints = typing.get_type_hints(schema)
    except Exception as exc:
        raise SchemaError(f"settings types cannot be read: {exc}") from exc
    out = []
    for f in dataclasses.fields(schema):
        kind = hints.get(f.name)
        if kind not in SUPPORTED_TYPES:
            raise SchemaError(f"setting {f.name!r}: type must be bool, int, float or str, not {kind!r}")
        if f.default is dataclasses.MISSING:
            raise SchemaError(f"setting {f.name!r} needs a default")
        meta = dict(f.metadata)
        unknown = set(meta) - _KNOWN_METADATA
        if unknown:
            raise SchemaError(f"setting {f.name!r}: unknown metadata {', '.join(sorted(unknown))}")
        if not meta.get("label_ja") or not meta.get("label_en"):
            raise SchemaError(f"setting {f.name!r} needs label_ja and label_en in its metadata")
        field = SettingField(
            name=f.name, type=kind, default=f.default, label_ja=meta["label_ja"], label_en=meta["label_en"],
            unit=meta.get("unit", ""), min=meta.get("min"), max=meta.get("max"),
            choices=tuple(meta.get("choices", ())), secret=bool(meta.get("secret", False)),
            operator_only=bool(meta.get("operator_only", False)),
            help_ja=meta.get("help_ja", ""), help_en=meta.get("help_en", ""),
            choice_labels=_choice_labels(f.name, meta),
        )
        if field.secret and kind is not str:
            raise SchemaError(f"setting {f.name!r}: only str settings can be secret")
        if not field.secret:
            try:
                check(field, field.default)
            except SettingsInvalid as exc:
                raise SchemaError(f"setting {f.name!r}: the default does not fit: {exc.errors[f.name]}") from exc
        out.append(field)
    return out


def _choice_labels(name: str, meta: dict[str, Any]) -> tuple[tuple[Any, str, str], ...]:
    """`choice_labels` of a field's metadata as (value, ja, en); SchemaError for a label of no choice
    or one that is not a (ja, en) pair of text."""
    labels = meta.get("choice_labels", {})
    if not isinstance(labels, dict):
        raise SchemaError(f"setting {name!r}: choice_labels must map each choice to (label ja, label en)")
    out = []
    for value, pair in labels.items():
        if value not in tuple(meta.get("choices", ())):
            raise SchemaError(f"setting {name!r}: choice_labels names {value!r}, which is not one of its choices")
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(p, str) and p for p in pair)):
            raise SchemaError(f"setting {name!r}: the label of {value!r} must be (label ja, label en)")
        out.append((value, pair[0], pair[1]))
    return tuple(out)


def check(field: SettingField, value: Any) -> Any:
    """`value` if it fits the field's type, bounds and choices; SettingsInvalid otherwise."""

    def refuse(message: str) -> SettingsInvalid:
        return SettingsInvalid({field.name: message})

    if field.type is bool:
        if not isinstance(value, bool):
            raise refuse(_("Choose yes or no."))
        return value
    if field.type is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise refuse(_("Enter a whole number."))
    if field.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise refuse(_("Enter a number."))
        value = float(value)
    if field.type is str and not isinstance(value, str):
        raise refuse(_("Enter text."))
    if field.type is str and any(unicodedata.category(c) == "Cc" for c in value):
        raise refuse(_("Remove the control characters (such as line breaks)."))
    if field.choices and value not in field.choices:
        raise refuse(_("Choose one of: {choices}.").format(choices=", ".join(map(str, field.choices))))
    measure = len(value) if field.type is str else value
    if field.min is not None and measure < field.min or field.max is not None and measure > field.max:
        if field.type is str:
            message = _("Enter from {min} to {max} characters.")
        else:
            message = _("Enter a value from {min} to {max}.")
        low = "-" if field.min is None else _number(field.min)
        high = "-" if field.max is None else _number(field.max)
        raise refuse(message.format(min=low, max=high))
    return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def parse(field: SettingField, text: str | None) -> Any:
    """A form field's text as the field's type, checked; SettingsInvalid when it does not fit.
    A checkbox sends "on" when ticked and nothing when not."""
    if field.type is bool:
        return check(field, text in ("on", "true", "1"))
    text = (text or "").strip()
    if field.type is int:
        try:
            value: Any = int(text)
        except ValueError:
            raise SettingsInvalid({field.name: _("Enter a whole number.")}) from None
    elif field.type is float:
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            raise SettingsInvalid({field.name: _("Enter a number.")}) from None
    else:
        value = text
    return check(field, value)


def updated_config(fields: list[SettingField], stored: dict[str, Any], form: dict[str, Any], *,
                   operator: bool, seal: Any) -> tuple[dict[str, Any], list[str]]:
    """The config to store after a settings form was sent, and the names of the fields it changed.

    Only the fields this user may see are read (operator-only ones need `operator`); the others
    keep their stored value. An empty secret field keeps the old secret; ticking `{name}__clear`
    removes it. `seal(field, plaintext)` seals a secret. SettingsInvalid with every field's error.
    """
    config = dict(stored)
    changed, errors = [], {}
    for field in fields:
        if field.operator_only and not operator:
            continue
        raw = form.get(field.name)
        if field.secret:
            if form.get(f"{field.name}__clear") == "on":
                if field.name in config:
                    config.pop(field.name)
                    changed.append(field.name)
                continue
            if not (raw or "").strip():
                continue
            try:
                config[field.name] = {"sealed": seal(field, check(field, str(raw).strip()))}
            except SettingsInvalid as exc:
                errors.update(exc.errors)
                continue
            changed.append(field.name)
            continue
        try:
            value = parse(field, raw)
        except SettingsInvalid as exc:
            errors.update(exc.errors)
            continue
        if value != stored_value(field, stored):
            changed.append(field.name)
        config[field.name] = value
    if errors:
        raise SettingsInvalid(errors)
    return config, changed


def stored_value(field: SettingField, stored: dict[str, Any]) -> Any:
    """The stored (non-secret) value, or the default where it is missing or no longer fits."""
    if field.name not in stored:
        return field.default
    try:
        return check(field, stored[field.name])
    except SettingsInvalid:
        log.warning("plugin_setting_reset", field=field.name, reason="stored value no longer fits the schema")
        return field.default


def instance(schema: type, fields: list[SettingField], stored: dict[str, Any], tk: TenantKey | None,
             context: str) -> Any:
    """The settings dataclass for a tenant: stored values, secrets opened, defaults elsewhere."""
    values = {}
    for field in fields:
        if field.secret:
            sealed = stored.get(field.name)
            if isinstance(sealed, dict) and "sealed" in sealed and tk is not None:
                values[field.name] = open_value(tk, sealed["sealed"], f"{context}.{field.name}")
            else:
                values[field.name] = field.default
        else:
            values[field.name] = stored_value(field, stored)
    return schema(**values)


def seal_for(tk: TenantKey, context: str):
    """The `seal` argument of `updated_config` for one tenant and plugin."""
    return lambda field, plaintext: seal_value(tk, plaintext, f"{context}.{field.name}")


def is_set(field: SettingField, stored: dict[str, Any]) -> bool:
    """Whether a secret has a stored value (the form shows "set", never the value)."""
    return isinstance(stored.get(field.name), dict) and "sealed" in stored[field.name]
