"""prune and stats through the CLI on a real (small) index: space is reclaimed, nothing orphaned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensic.cli import cli
from forensic.index.store import IndexStore
from realdata import SHARED

CLIP = SHARED / "footage" / "vn_truccat_crossroad_day.mp4"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CLIP.exists(), reason="needs ../shared footage and models")]


def run(index: Path, *args: str):
    env = {"FORENSIC_MODELS": str(SHARED / "models"), "FORENSIC_IMGSZ": "320", "FORENSIC_SETTLE": "0"}
    return CliRunner().invoke(cli, ["--index", str(index), *args], env=env)


def test_stats_then_prune_reclaims_everything(tmp_path):
    cam = tmp_path / "cam1"
    cam.mkdir()
    (cam / "a.mp4").symlink_to(CLIP)
    idx = tmp_path / "idx"
    assert run(idx, "index", str(cam)).exit_code == 0
    info = json.loads(run(idx, "stats", "--json").stdout)
    assert info["videos"] == {"done": 1} and info["cameras"] == {"cam1": 1}
    assert info["detections"] > 20 and sum(info["classes"].values()) == info["detections"]
    assert info["models"]["appearance"]["dim"] > 0 and info["bytes"]["thumbnails"] > 0

    kept = run(idx, "prune", "--before", "2000-01-01", "--yes")
    assert kept.exit_code == 0 and "nothing to remove" in kept.stdout
    assert run(idx, "prune", "--older-than", "soon").exit_code == 2
    gone = run(idx, "prune", "--before", "2100-01-01", "--camera", "cam1", "--yes")
    assert gone.exit_code == 0 and "removed 1 videos" in gone.stdout
    after = json.loads(run(idx, "stats", "--json").stdout)
    assert after["detections"] == 0 and after["bytes"]["thumbnails"] == 0
    assert after["bytes"]["database"] < info["bytes"]["database"]
    with IndexStore(idx) as s:
        assert s.vector_index("appearance").ntotal == 0
        assert s.db.execute("SELECT COUNT(*) FROM views").fetchone()[0] == 0
    assert run(idx, "verify").exit_code == 0
