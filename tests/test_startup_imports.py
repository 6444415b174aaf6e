"""Every `mendan` command loads the installed plugins, so a plugin module that imports a heavy
library at its top slows down all of them (`mendan --help` took 7 s). Heavy libraries are
imported inside the functions that use them; bench/startup.py measures the time."""

from __future__ import annotations

import json
import subprocess
import sys

# Each costs from a few tenths of a second (av, litestar, piccolo, numpy) to seconds (pandas, scipy, catboost).
HEAVY = {
    "av", "catboost", "cv2", "faster_whisper", "insightface", "litestar", "matplotlib", "mediapipe", "nemo",
    "numpy", "onnxruntime", "pandas", "piccolo", "pyarrow", "scipy", "sklearn", "torch",
}

PROBE = """
import json, sys
from mendan.cli import main
from core.plugins import get_plugin_host
try:
    main(["--help"])
except SystemExit:
    pass
print(json.dumps({"modules": sorted({m.split(".")[0] for m in sys.modules}),
                  "plugins": sorted(get_plugin_host().metas)}))
"""


def test_mendan_help_loads_the_plugins_without_heavy_libraries():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"ai_model", "face_features", "live_interview", "video_analysis"} <= set(seen["plugins"])
    assert "Usage:" in done.stdout
    assert sorted(HEAVY & set(seen["modules"])) == [], "import these inside the functions that use them"
