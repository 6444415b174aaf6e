"""The optional insightface backend loads a pack from a folder and maps SCRFD's output into frame rows.

No real pack may be downloaded here, so the test builds a stand-in ONNX with
SCRFD's signature (one input, nine outputs: scores, box distances and five
keypoints at strides 8, 16 and 32, two anchors each) that always finds one face
at a known place with a known eye-line tilt.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the insightface extra is not installed")
pytest.importorskip("insightface", reason="insightface is not installed (pip install --no-deps insightface==2.1)")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from plugins.face_features.extractor import FaceFeatureExtractor  # noqa: E402
from plugins.face_features.insightface_backend import InsightFaceAnalyser, detector_file  # noqa: E402
from plugins.face_features.model_files import ModelFileError  # noqa: E402
from plugins.face_features.testing import ClipScript, write_clip  # noqa: E402
from tests.test_face_features import models  # noqa: E402,F401  (the verified model files fixture)

SIZE = 640
ROLL = 10.0  # degrees, counter-clockwise
CENTRE = (9 * 32, 4 * 32)  # the stride-32 anchor that fires: column 9, row 4
BOX = (1.5, 2.0, 1.5, 2.0)  # left, top, right, bottom distances in strides


def _keypoints() -> np.ndarray:
    c, s = math.cos(math.radians(ROLL)), math.sin(math.radians(ROLL))
    return np.array([-0.5 * c, -0.5 + 0.5 * s, 0.5 * c, -0.5 - 0.5 * s, 0, 0, -0.4, 0.6, 0.4, 0.6], np.float32)


def write_standin_scrfd(path: Path) -> Path:
    nodes = [
        helper.make_node("ReduceMean", ["input.1"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),  # outputs depend on the input, as a real net's do
    ]
    initializers = [numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    outputs = []
    for kind, width in (("score", 1), ("bbox", 4), ("kps", 10)):
        for stride in (8, 16, 32):
            rows = (SIZE // stride) ** 2 * 2
            value = np.zeros((rows, width), np.float32)
            if stride == 32:
                anchor = 2 * (CENTRE[1] // 32 * (SIZE // 32) + CENTRE[0] // 32)
                value[anchor] = {"score": [0.9], "bbox": BOX, "kps": _keypoints()}[kind]
            name = f"{kind}_{stride}"
            initializers.append(numpy_helper.from_array(value, f"{name}_value"))
            nodes.append(helper.make_node("Add", [f"{name}_value", "nothing"], [name]))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [rows, width]))
    graph = helper.make_graph(
        nodes, "scrfd_standin",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        outputs, initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("standin_pack")
    write_standin_scrfd(folder / "det_10g.onnx")
    return folder


def test_the_detector_is_found_in_the_pack_and_maps_to_a_frame_row(pack, models):
    with InsightFaceAnalyser(pack, models / "emotion_model_quantized.tflite") as analyser:
        row = analyser.analyse(np.full((480, 640, 3), 128, np.uint8), frame=7, t=1.4)
    assert row["face"] is True and row["frame"] == 7 and row["t"] == 1.4
    assert row["roll"] == pytest.approx(ROLL, abs=0.01)
    assert sum(row[f"emo_{e}"] for e in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")) == pytest.approx(1, abs=1e-3)
    assert math.isnan(row["yaw"]) and math.isnan(row["bs_mouthSmileLeft"])  # not measurable by SCRFD: empty


def test_the_extractor_runs_on_the_insightface_backend(pack, models, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", ClipScript(seconds=2.0, gaps=()))
    table, features = FaceFeatureExtractor(processes=1, models=models, insightface_pack=pack).analyse(
        clip, emotion_allowed=False)
    assert table.num_rows == 10
    assert features["presence_ratio"] == 1.0
    assert features["roll_mean"] == pytest.approx(ROLL, abs=0.01)
    assert "yaw_mean" not in features and "smile_ratio" not in features  # absent, not zero


def test_a_pack_must_be_a_local_folder_with_a_detector(tmp_path):
    with pytest.raises(ModelFileError, match="absolute folder"):
        detector_file(Path("buffalo_l"))  # a bare pack name would make insightface download it
    with pytest.raises(ModelFileError, match="no SCRFD detector"):
        detector_file(tmp_path)
