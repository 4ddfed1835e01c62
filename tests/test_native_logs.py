"""Native libraries (OpenCV, the ffmpeg inside it) print straight to stderr, past logging: forensic turns
them off, so a slightly damaged file indexed with -q shows only forensic's own lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from realdata import SHARED

ROOT = Path(__file__).resolve().parents[1]
SOURCE = SHARED / "footage" / "night_ir_yard_person.mp4"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not SOURCE.exists(), reason="needs ../shared footage")]

DECODE = """
import sys
if sys.argv[2] == "quiet":
    from forensic.native import quiet_native_logs
    quiet_native_logs()
import cv2
cap = cv2.VideoCapture(sys.argv[1])
while cap.grab():
    pass
"""


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> Path:
    """A real recording with garbage over some of its packets: decoders complain, the rest plays."""
    data = bytearray(SOURCE.read_bytes())
    for i in range(200_000, 600_000, 5000):
        data[i:i + 400] = bytes((i * 7 + k * 13) % 256 for k in range(400))
    path = tmp_path_factory.mktemp("damaged") / "cam" / "damaged.mp4"
    path.parent.mkdir()
    path.write_bytes(bytes(data))
    return path


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORENSIC_", "OPENCV_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_decoding_a_damaged_file_prints_nothing_once_quieted(damaged):
    loud = subprocess.run([sys.executable, "-c", DECODE, str(damaged), "loud"], capture_output=True, text=True, env=_env(), cwd=ROOT)
    if not loud.stderr.strip():
        pytest.skip("this OpenCV build prints nothing for this file: nothing to silence")
    quiet = subprocess.run([sys.executable, "-c", DECODE, str(damaged), "quiet"], capture_output=True, text=True, env=_env(), cwd=ROOT)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == ""


@pytest.mark.slow
def test_indexing_a_damaged_file_with_q_prints_only_forensics_lines(damaged, tmp_path):
    if not (SHARED / "models" / "yolo11n.pt").exists():
        pytest.skip("needs the YOLO weights in ../shared/models")
    out = subprocess.run([sys.executable, "-m", "forensic", "-q", "--index", str(tmp_path / "idx"), "--models", str(SHARED / "models"),
                          "index", "--settle", "0", "--fps", "0.2", "--imgsz", "320", "--device", "cpu", "--clip", "off", str(damaged)],
                         capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600)
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode in (0, 1) and lines, out.stderr
    own = re.compile(r"\d{4}-\d\d-\d\d \S+ [A-Z]+ forensic[.\w]*: |\d+ indexed, |  failed: ")
    for line in lines:  # forensic's log records, the summary line and its "  failed: ..." lines, nothing else
        assert own.match(line), line
    assert not any(s in out.stderr for s in ("[hevc", "[h264", "WARN", "[ERROR:", "NAL unit"))
