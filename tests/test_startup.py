"""Startup: `forensic --help` and a text search on an index without CLIP vectors load no deep-learning
library (torch, ultralytics, open_clip): they answer in a fraction of a second. Checked in a fresh
interpreter with `python -X importtime`, which names every module imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from realdata import one_red_car_index

HEAVY = ("torch", "torchvision", "ultralytics", "open_clip", "ray")


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
    names = imported("--index", str(one_red_car_index(tmp_path)), "search", "red car", "--json")
    assert not set(HEAVY) & names
    assert "faiss" not in names  # text ranking reads the search columns only
