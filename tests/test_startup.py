"""Startup: `forensic --help` and a text search on an index without CLIP vectors load no deep-learning
library (torch, ultralytics, open_clip): they answer in a fraction of a second. Checked in a fresh
interpreter with `python -X importtime`, which names every module imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from forensic.detections import Detections
from forensic.index.store import IndexStore
from forensic.video import VideoInfo
from realdata import tiny_jpeg

HEAVY = ("torch", "torchvision", "ultralytics", "open_clip")


def imported(*args: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORENSIC_")}
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "forensic", *args], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    names = set()
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "forensic" in names and "click" in names  # the listing really is there
    return names


def test_help_loads_no_model_library():
    assert not set(HEAVY) & imported("--help")


def test_text_search_loads_no_model_library(tmp_path):
    video = tmp_path / "cam1" / "a.mp4"
    video.parent.mkdir()
    video.write_bytes(b"0" * 64)
    with IndexStore(tmp_path / "idx", writer=True) as store:
        store.register_embedder("appearance", "appearance-test/v1", 4)
        vid = store.begin_video(video, "cam1", VideoInfo(video, fps=25.0, frames=25, width=640, height=480), 2.0, "fp")
        dets = Detections(np.array([[10, 10, 90, 60]], np.float32), np.array([0.9], np.float32), np.array(["car"]))
        store.add_detections(vid, 0, 0.0, dets, [{"whole": {"red": 0.8}}], np.array([0.7], np.float32), [tiny_jpeg()],
                             {"appearance": np.array([[1, 0, 0, 0]], np.float32)})
        store.finish_video(vid)
    names = imported("--index", str(tmp_path / "idx"), "search", "red car", "--json")
    assert not set(HEAVY) & names
    assert "faiss" not in names  # text ranking reads the search columns only
