"""Japanese and English names and one-line meanings of every face_features feature.

HR staff read these in AI explanations instead of codes like `bs_mouthSmileLeft_mean`.
Names follow how `aggregates.aggregate` builds them: a measure, then a statistic.
"""

from __future__ import annotations

from core.features import FeatureLabel
from plugins.face_features.aggregates import DISTRIBUTED, PERCENTILES
from plugins.face_features.frame_analysis import BLENDSHAPES, EMOTIONS

SINGLE = {
    "sampled_frames": FeatureLabel("解析したフレーム数", "Frames analysed",
                                   "動画から解析のために取り出した静止画の枚数です。",
                                   "How many still frames were taken from the video for analysis."),
    "duration_s": FeatureLabel("解析した長さ", "Length analysed", "解析した録画の長さです。",
                               "How long the analysed recording is.", "s"),
    "presence_ratio": FeatureLabel("顔が映っていた割合", "Face in view",
                                   "録画のうち顔がカメラに映っていた時間の割合（0〜1）です。",
                                   "Share of the recording with a face in view (0-1)."),
    "blink_rate_per_min": FeatureLabel("まばたきの回数", "Blinks per minute",
                                       "顔が映っている間の1分あたりのまばたきの回数です。",
                                       "Blinks per minute while the face was in view.", "/min"),
    "smile_ratio": FeatureLabel("笑顔の割合", "Smiling",
                                "顔が映っている間に口角が上がって笑顔だった時間の割合（0〜1）です。",
                                "Share of the time in view with a smile (0-1)."),
    "gaze_at_camera_ratio": FeatureLabel("カメラを見ていた割合", "Looking at the camera",
                                         "顔が映っている間に顔と視線がカメラに向いていた時間の割合（0〜1）です。",
                                         "Share of the time in view with face and eyes towards the camera (0-1)."),
    "head_movement_energy": FeatureLabel("頭の動きの大きさ", "Head movement",
                                         "頭の向きが変わる速さの二乗平均です。大きいほど頭をよく動かしています。",
                                         "Mean squared speed of head turns; higher means the head moved more.",
                                         "(°/s)²"),
}

# (name ja, name en, meaning ja, meaning en, unit) of each measure with a distribution.
MEASURES = {
    "yaw": ("顔の左右の向き", "Head turn (left/right)", "顔がカメラに対して左右に向いた角度", "angle of the head turned left or right", "°"),
    "pitch": ("顔の上下の向き", "Head tilt (up/down)", "顔が上下に向いた角度", "angle of the head tilted up or down", "°"),
    "roll": ("頭の傾き", "Head roll", "頭が左右の肩の方へ傾いた角度", "angle of the head leaning towards a shoulder", "°"),
    "eye_open": ("目の開き", "Eye opening", "まぶたの開き具合（両目の平均）", "how open the eyelids are (both eyes)", ""),
    "gaze_x": ("視線の左右", "Gaze (left/right)", "黒目が目の中で左右に寄っている度合い（0が正面）",
               "how far the irises sit left or right in the eyes (0 is straight ahead)", ""),
    "gaze_y": ("視線の上下", "Gaze (up/down)", "黒目が目の中で上下に寄っている度合い（0が正面）",
               "how far the irises sit up or down in the eyes (0 is straight ahead)", ""),
}
# (suffix ja, suffix en, phrase ja, phrase en)
STATISTICS = {
    "mean": ("平均", "mean", "面談を通した平均", "average over the interview"),
    "std": ("ばらつき", "variation", "面談中の変動の大きさ（標準偏差）", "how much it changed during the interview (standard deviation)"),
    **{f"p{q}": (f"{q}パーセンタイル" if q != 50 else "中央値", f"{q}th percentile" if q != 50 else "median",
                 f"小さい方から{q}%の位置の値" if q != 50 else "真ん中の値",
                 f"the value below which {q}% of the frames lie" if q != 50 else "the middle value")
       for q in PERCENTILES},
}

# MediaPipe blendshapes (ARKit names): what the face does; {side} is filled for Left/Right pairs.
BLENDSHAPE_NAMES = {
    "_neutral": ("無表情", "neutral face"),
    "browDown": ("{side}眉を下げる", "{side} brow lowered"),
    "browInnerUp": ("眉の内側を上げる", "inner brows raised"),
    "browOuterUp": ("{side}眉の外側を上げる", "{side} outer brow raised"),
    "cheekPuff": ("頬をふくらませる", "cheeks puffed"),
    "cheekSquint": ("{side}頬を上げる", "{side} cheek raised"),
    "eyeBlink": ("{side}目を閉じる", "{side} eye closed"),
    "eyeLookDown": ("{side}目で下を見る", "{side} eye looking down"),
    "eyeLookIn": ("{side}目で鼻の側を見る", "{side} eye looking inwards"),
    "eyeLookOut": ("{side}目で外側を見る", "{side} eye looking outwards"),
    "eyeLookUp": ("{side}目で上を見る", "{side} eye looking up"),
    "eyeSquint": ("{side}目を細める", "{side} eye narrowed"),
    "eyeWide": ("{side}目を見開く", "{side} eye wide open"),
    "jawForward": ("あごを前に出す", "jaw forward"),
    "jawLeft": ("あごを左に動かす", "jaw to the left"),
    "jawOpen": ("口を開ける", "mouth open"),
    "jawRight": ("あごを右に動かす", "jaw to the right"),
    "mouthClose": ("唇を閉じる", "lips closed"),
    "mouthDimple": ("{side}口角を後ろに引く", "{side} mouth corner pulled back"),
    "mouthFrown": ("{side}口角を下げる", "{side} mouth corner down"),
    "mouthFunnel": ("口をすぼめる", "lips funnelled"),
    "mouthLeft": ("口を左に寄せる", "mouth to the left"),
    "mouthLowerDown": ("下唇の{side}側を下げる", "lower lip down ({side})"),
    "mouthPress": ("唇の{side}側を押し付ける", "lips pressed ({side})"),
    "mouthPucker": ("唇をとがらせる", "lips puckered"),
    "mouthRight": ("口を右に寄せる", "mouth to the right"),
    "mouthRollLower": ("下唇を内側に巻く", "lower lip rolled in"),
    "mouthRollUpper": ("上唇を内側に巻く", "upper lip rolled in"),
    "mouthShrugLower": ("下唇を押し上げる", "lower lip raised"),
    "mouthShrugUpper": ("上唇を押し上げる", "upper lip raised"),
    "mouthSmile": ("{side}口角を上げる（笑顔）", "{side} mouth corner up (smile)"),
    "mouthStretch": ("口を{side}へ横に引く", "mouth stretched ({side})"),
    "mouthUpperUp": ("上唇の{side}側を上げる", "upper lip up ({side})"),
    "noseSneer": ("鼻の{side}側にしわを寄せる", "nose wrinkled ({side})"),
}
SIDES = {"Left": ("左", "left"), "Right": ("右", "right")}
EMOTION_NAMES = {"angry": ("怒り", "anger"), "disgust": ("嫌悪", "disgust"), "fear": ("恐れ", "fear"),
                 "happy": ("喜び", "happiness"), "sad": ("悲しみ", "sadness"), "surprise": ("驚き", "surprise"),
                 "neutral": ("平静", "neutral")}


def _blendshape(name: str) -> tuple[str, str]:
    for side, (side_ja, side_en) in SIDES.items():
        if name.endswith(side) and name[: -len(side)] in BLENDSHAPE_NAMES:
            ja, en = BLENDSHAPE_NAMES[name[: -len(side)]]
            return ja.format(side=side_ja), en.format(side=side_en)
    ja, en = BLENDSHAPE_NAMES[name]
    return ja, en


def _stat(name_ja: str, name_en: str, meaning_ja: str, meaning_en: str, unit: str, stat: str) -> FeatureLabel:
    s_ja, s_en, p_ja, p_en = STATISTICS[stat]
    return FeatureLabel(f"{name_ja}（{s_ja}）", f"{name_en} ({s_en})", f"{meaning_ja}の{p_ja}です。",
                        f"{meaning_en[0].upper()}{meaning_en[1:]}: {p_en}.", unit)


def feature_labels() -> dict[str, FeatureLabel]:
    """Every feature name `aggregate` can return -> its label."""
    labels = dict(SINGLE)
    for measure in DISTRIBUTED:
        for stat in STATISTICS:
            labels[f"{measure}_{stat}"] = _stat(*MEASURES[measure], stat)
    for name in BLENDSHAPES:
        ja, en = _blendshape(name)
        for stat in ("mean", "std"):
            labels[f"bs_{name}_{stat}"] = _stat(
                f"表情：{ja}", f"Expression: {en}", f"表情係数「{ja}」（0〜1、顔の動きの強さ）",
                f"expression coefficient '{en}' (0-1, how strongly the face does it)", "", stat)
    for name in EMOTIONS:
        ja, en = EMOTION_NAMES[name]
        for stat in ("mean", "std"):
            labels[f"emo_{name}_{stat}"] = _stat(
                f"表情から推定した{ja}", f"Estimated {en}", f"顔の見た目から推定した「{ja}」の確率（0〜1、気持ちそのものではありません）",
                f"probability of '{en}' estimated from the face's look (0-1, not the person's actual feeling)", "", stat)
    return labels


LABELS = feature_labels()
