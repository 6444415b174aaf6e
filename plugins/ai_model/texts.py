"""What the model page says about builds, in the request's language.

Builds store reasons as codes with parameters (`ModelVersion.failure`, `.skipped`,
`.warnings`), so one stored version reads right in Japanese and in English.
"""

from __future__ import annotations

from typing import Any

from core.web.i18n import gettext as _


def skip_text(reason: dict[str, Any]) -> str:
    """Why one evaluation item got no model in a build."""
    code = reason.get("code")
    if code == "too_few":
        return _("Only %(n)s interviews have expert scores for this item; at least %(minimum)s are needed.") % reason
    if code == "constant":
        return _("Every interview has the same expert score (%(value)s) for this item, so there is nothing to "
                 "learn. Scores that differ between interviews are needed.") % {"value": f"{reason['value']:g}"}
    if code == "training_error":
        return _("The training library refused this item: %(detail)s") % {"detail": reason.get("detail", "")}
    return str(reason)


def failure_text(failure: dict[str, Any] | None, error: str = "") -> str:
    """Why a build failed; `error` (the exception text) is the fallback for older versions."""
    code = (failure or {}).get("code")
    if code == "no_features":
        return _("There are no analysed recordings yet: analyse the recordings before building a model.")
    if code == "no_data":
        return _("No analysed interview has an expert evaluation yet.")
    if code == "no_item":
        return _("No evaluation item could be built. The reasons per item are listed below.")
    if code == "interrupted":
        return _("The build was interrupted before it finished. Start a new build.")
    if code == "internal":
        return _("The build stopped because of an internal error (%(error)s). It is retried automatically; "
                 "if it fails again, contact support.") % {"error": failure.get("error", "")}
    return error


def warning_text(warning: Any) -> str:
    """A note about a built item (older versions stored English text, shown as it is)."""
    if isinstance(warning, dict) and warning.get("code") == "few":
        return _("%(item)s: only %(n)s interviews; %(recommended)s-100 are recommended for reasonable accuracy.") % warning
    return str(warning)
