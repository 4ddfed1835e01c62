"""Never overwrite (issue 11, item 1): every output (--html, show --out, --log-file, export folders)
refuses an existing file unless --force, with one line and exit 2, and nothing but the index itself
ever writes inside the index folder, --force or not."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from evidencedata import cli, error_lines


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def index_copy(stub_evidence_index, tmp_path) -> Path:
    """A private copy of the synthetic index, so a test that fails (and destroys it) harms nobody else."""
    root = tmp_path / "idx"
    shutil.copytree(stub_evidence_index, root, ignore=shutil.ignore_patterns("write.lock"))
    return root


def refused(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    (line,) = error_lines(result)
    assert all(w in line for w in words), line
    assert result.stderr.count("\n") == 1, result.stderr


def index_still_works(root: Path, before: str) -> None:
    assert digest(root / "index.sqlite") == before
    result = cli("--index", str(root), "stats", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["detections"] > 0


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_html_pointed_at_the_index_database_is_refused(index_copy, force):
    """It used to replace index.sqlite with the report, exit 0: the whole index was gone."""
    before = digest(index_copy / "index.sqlite")
    result = cli("--index", str(index_copy), "search", "car", "--html", str(index_copy / "index.sqlite"), *force)
    refused(result, "--html", "inside the index folder")
    index_still_works(index_copy, before)
    assert not list(index_copy.glob("*.tmp")) and not list(index_copy.glob(".*.tmp"))


def test_html_through_a_link_into_the_index_is_refused(index_copy, tmp_path):
    before = digest(index_copy / "index.sqlite")
    link = tmp_path / "report.html"
    link.symlink_to(index_copy / "index.sqlite")
    refused(cli("--index", str(index_copy), "--force", "search", "car", "--html", str(link)), "inside the index folder")
    (tmp_path / "elsewhere").symlink_to(index_copy)
    refused(cli("--index", str(index_copy), "search", "car", "--html", str(tmp_path / "elsewhere" / "new.html")),
            "inside the index folder")
    index_still_works(index_copy, before)


def test_html_over_an_existing_file_needs_force(index_copy, tmp_path):
    report = tmp_path / "report.html"
    report.write_text("the case notes of yesterday\n")
    refused(cli("--index", str(index_copy), "search", "car", "--html", str(report)), "already exists", "--force")
    assert report.read_text() == "the case notes of yesterday\n"
    audit = index_copy / "audit.jsonl"
    assert not audit.exists() or "report.html" not in audit.read_text()  # refused before the search: nothing audited
    for force in (["search", "car", "--html", str(report), "--force"], ["--force", "search", "car", "--html", str(report)]):
        result = cli("--index", str(index_copy), *force)
        assert result.exit_code == 0, result.output
        assert report.read_text().lower().startswith("<!doctype html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx", "report.html"]  # no temporary file left


def test_log_file_inside_the_index_is_refused(index_copy):
    """Log lines appended to the audit log (or any index file) would break its hash chain."""
    audit = index_copy / "audit.jsonl"
    assert cli("--index", str(index_copy), "search", "car").exit_code == 0  # one audit entry
    before = audit.read_bytes()
    for target in (audit, index_copy / "forensic.log"):
        for force in ([], ["--force"]):
            refused(cli("--index", str(index_copy), *force, "--log-file", str(target), "-v", "stats"), "--log-file",
                    "inside the index folder")
    assert audit.read_bytes() == before and not (index_copy / "forensic.log").exists()
    result = cli("--index", str(index_copy), "audit", "--verify")
    assert result.exit_code == 0 and "ok" in result.stdout


def test_log_file_appends_to_its_own_log_but_refuses_another_file(tmp_path):
    """--log-file appends (the nightly job uses one log for every run): a forensic log, text or JSON lines,
    is continued without --force; any other existing file is refused."""
    idx = tmp_path / "idx"
    earlier = {"text": "2026-12-01 02:00:01,123 INFO forensic: indexed /rec/cam1/a.mp4 (6.3 s, 24 objects)\n",
               "json": json.dumps({"time": "2026-12-01T02:00:01+0700", "level": "info", "logger": "forensic",
                                   "message": "indexed /rec/cam1/a.mp4", "event": "done"}) + "\n"}
    for fmt, line in earlier.items():
        log = tmp_path / f"forensic-{fmt}.log"
        log.write_text(line)
        result = cli("--index", str(idx), "--log-file", str(log), "--log-format", fmt, "cameras")
        assert result.exit_code == 0, result.output
        assert log.read_text().startswith(line)
    evidence = tmp_path / "manifest.json"
    evidence.write_text('{"format": "forensic-export/1"}\n')
    refused(cli("--index", str(idx), "--log-file", str(evidence), "stats"), "--log-file", "not a forensic log", "--force")
    assert evidence.read_text() == '{"format": "forensic-export/1"}\n'
    refused(cli("--index", str(idx), "--log-file", str(tmp_path), "stats"), "is a folder")


def test_show_out_over_an_existing_file_needs_force(index_copy, car_hit, tmp_path, monkeypatch):
    out = tmp_path / "frame.png"
    out.write_bytes(b"an earlier picture")
    refused(cli("--index", str(index_copy), "show", str(car_hit), "--out", str(out)), "--out", "already exists", "--force")
    assert out.read_bytes() == b"an earlier picture"
    result = cli("--index", str(index_copy), "show", str(car_hit), "--out", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"
    monkeypatch.chdir(tmp_path)  # the default name, hit-ID.jpg, is not replaced either
    Path(f"hit-{car_hit}.jpg").write_bytes(b"kept")
    refused(cli("--index", str(index_copy), "show", str(car_hit)), "already exists")
    assert Path(f"hit-{car_hit}.jpg").read_bytes() == b"kept"


def test_show_out_inside_the_index_is_refused(index_copy, car_hit):
    before = digest(index_copy / "index.sqlite")
    thumb = next((index_copy / "thumbs").rglob("*.jpg"))
    kept = thumb.read_bytes()
    for target, force in ((index_copy / "frame.jpg", []), (thumb, ["--force"])):
        refused(cli("--index", str(index_copy), "show", str(car_hit), "--out", str(target), *force), "inside the index folder")
    assert thumb.read_bytes() == kept and not (index_copy / "frame.jpg").exists()
    index_still_works(index_copy, before)


def test_export_into_the_index_folder_is_refused(index_copy, car_hit):
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg is not installed (CI installs it)")
    before = digest(index_copy / "index.sqlite")
    refused(cli("--index", str(index_copy), "export", str(car_hit), "--out", str(index_copy / "case-17")), "inside the index folder")
    assert not (index_copy / "case-17").exists()
    index_still_works(index_copy, before)
