"""The thresholds of the AI-ethics options, a per-tenant plugin settings schema.

Kept apart from `core.fairness` (numpy, pandas, aif360) so that a plugin's metadata can
name it without loading those when the plugins load.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class FairnessSettings:
    """A tenant's thresholds for the AI-ethics options (per-tenant plugin settings).

    impact_ratio_min: the four-fifths rule; a group whose pass rate is below this share of the
      best group's is flagged. spd_max: the largest acceptable |statistical parity difference|
      (also used for equal opportunity and average odds differences). pass_share: the
      passing score as a share of the item's scale (0.5: its midpoint; 0.75 on 1-5: 4).
      small_group_share: groups below this share of those disclosed are flagged as small
      (NYC LL144: 2 %). expert_gap_points: how many points lower an expert may score one group
      than the other experts do on the same interviews. mae_gap_max: how much larger the
      model's mean absolute error may be for one group. psi_max: the population stability
      index above which the monthly score distribution counts as drifted.
    """

    impact_ratio_min: float = field(default=0.8, metadata={
        "label_ja": "影響比の下限（4/5ルール）", "label_en": "Lowest impact ratio (four-fifths rule)", "min": 0, "max": 1})
    spd_max: float = field(default=0.1, metadata={
        "label_ja": "統計的パリティ差の上限", "label_en": "Largest statistical parity difference", "min": 0, "max": 1})
    pass_share: float = field(default=0.5, metadata={
        "label_ja": "合格とみなす点（尺度の下端0〜上端1）", "label_en": "Passing score (0 = bottom of the scale, 1 = top)",
        "min": 0, "max": 1})
    small_group_share: float = field(default=0.02, metadata={
        "label_ja": "少人数グループとする割合", "label_en": "Share below which a group is small", "min": 0, "max": 0.5})
    expert_gap_points: float = field(default=0.5, metadata={
        "label_ja": "熟練面談者の評価差の許容", "label_en": "Largest gap of one expert's scores", "unit": "点",
        "min": 0, "max": 10})
    mae_gap_max: float = field(default=0.3, metadata={
        "label_ja": "グループ間の誤差差の上限", "label_en": "Largest gap in error between groups", "min": 0, "max": 10})
    psi_max: float = field(default=0.2, metadata={
        "label_ja": "分布の変化（PSI）の上限", "label_en": "Largest score drift (PSI)", "min": 0, "max": 10})

    def threshold_for(self, scale_min: float, scale_max: float) -> float:
        """The passing score on a scale: `pass_share` of the way from its bottom to its top."""
        return float(scale_min) + self.pass_share * (float(scale_max) - float(scale_min))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
