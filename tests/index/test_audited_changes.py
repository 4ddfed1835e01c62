"""Every command that changes the index is audited (issue 11, item 4: `index`, `prune` and `verify --repair`
wrote no audit entry): each appends one chained entry saying what it changed, and the chain verifies."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from forensic.evidence.audit import AuditLog
from realdata import TRUCCAT
from realdata import run_cli as run


@pytest.mark.slow
def test_index_prune_and_repair_write_audit_entries(tmp_path, footage, models_dir):
    (tmp_path / "cam1").mkdir()
    video = tmp_path / "cam1" / "a.mp4"
    shutil.copy(footage / TRUCCAT, video)
    idx = tmp_path / "idx"
    env = {"FORENSIC_MODELS": str(models_dir), "FORENSIC_SETTLE": "0", "FORENSIC_IMGSZ": "320"}
    assert run("--index", str(idx), "index", "--fps", "1", str(tmp_path / "cam1"), env=env).exit_code == 0
    (entry,) = AuditLog(idx).entries()
    assert entry["command"] == "index" and entry["paths"] == [str(tmp_path / "cam1")] and entry["failed"] == []
    assert entry["indexed"] == [{"path": str(video), "sha256": hashlib.sha256(video.read_bytes()).hexdigest()}]

    thumb = next((idx / "thumbs").glob("*/*.jpg"))
    thumb.unlink()
    assert run("--index", str(idx), "verify", "--repair").exit_code == 0
    repair = list(AuditLog(idx).entries())[-1]
    assert repair["command"] == "verify" and repair["repair"] and "1 thumbnails missing" in repair["fixed"][0]

    assert run("--index", str(idx), "prune", "--before", "2100-01-01", "--yes").exit_code == 0
    prune = list(AuditLog(idx).entries())[-1]
    assert prune["command"] == "prune" and prune["removed"] == [str(video)] and prune["before"] == "2100-01-01T00:00:00"

    listing = run("--index", str(idx), "audit")
    assert all(f" {c} " in listing.stdout for c in ("index", "verify", "prune")), listing.stdout
    check = run("--index", str(idx), "audit", "--verify")
    assert check.exit_code == 0 and check.stdout.startswith("audit log ok: 3 entries"), check.output
    assert json.loads((idx / "audit.head").read_text())["seq"] == 3
