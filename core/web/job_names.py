"""Jobs named in words ("動画の分析" / "Video analysis") instead of actor names
(`core.extract_features`): the core names its own actors here; the domains and plugins name
theirs through `mendan_job_names`, collected by `PluginHost.job_names`."""

from __future__ import annotations

from typing import Any

CORE_JOB_NAMES = {
    "core.send_mail": ("メールの送信", "Sending a mail"),
    "core.send_password_reset": ("パスワード再設定メールの送信", "Sending a password reset mail"),
}
UNNAMED = ("バックグラウンド処理", "Background work")


def job_name(host: Any, actor: str, language: str) -> str:
    """The words for a job of `actor` in `language` ("ja" or "en"); jobs of an actor nobody
    named are "Background work" rather than the actor's internal name."""
    ja, en = CORE_JOB_NAMES.get(actor) or host.job_names().get(actor) or UNNAMED
    return ja if language == "ja" else en
