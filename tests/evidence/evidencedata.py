"""Helpers of the evidence tests: where things are, the test's own frame decoder, the CLI runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from realdata import REPO, error_lines  # noqa: F401  (the evidence tests take them from here)
from realdata import run_cli as cli  # noqa: F401

CAMERAS = REPO / "samples" / "cameras.toml"
SHOTS = REPO / "test-output" / "evidence"


def find_detection(root: Path, landmark, near_t: float) -> int:
    """The id of the detection of `landmark` closest to video time `near_t` (the real detector's, not a fixture)."""
    from forensic.index.store import IndexStore

    with IndexStore(root) as store:
        rows = store.db.execute("SELECT d.id, d.t, d.x1, d.y1, d.x2, d.y2, d.cls, v.path FROM detections d "
                                "JOIN videos v ON v.id=d.video_id").fetchall()
    found = [r for r in rows if landmark.matches(r["path"], r["t"], [r["x1"], r["y1"], r["x2"], r["y2"]], r["cls"])]
    assert found, f"the detector found no {landmark.clip} object near {near_t} s"
    return min(found, key=lambda r: abs(r["t"] - near_t))["id"]


def load(root: Path, hit_id: int):
    from forensic.evidence.frames import load_hit
    from forensic.index.store import IndexStore

    with IndexStore(root) as store:
        return load_hit(store, hit_id)


def decode_myself(video: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Frames by number, decoded from the start with OpenCV: the test's own reference."""
    import cv2

    cap = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG)
    out, n = {}, 0
    while n <= max(indices):
        ok, image = cap.read()
        if not ok:
            break
        if n in indices:
            out[n] = image
        n += 1
    cap.release()
    assert set(out) == set(indices), f"{video} has only {n} frames"
    return out


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def no_ffmpeg_path(tmp_path: Path) -> str:
    """A PATH with no ffmpeg or ffprobe on it (the seam the 'missing ffmpeg' tests use)."""
    empty = tmp_path / "bin-without-ffmpeg"
    empty.mkdir(exist_ok=True)
    return str(empty)
