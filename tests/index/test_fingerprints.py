"""Content fingerprints (issue 11, item 3): every indexed recording's full SHA-256 is stored; `show`, `export`
and `index` refuse a recording that changed since (replaced at the same path, or edited in the middle with
its size and modification time kept), naming both hashes (exit 3; `index`: that file fails, exit 1);
`verify` checks them all (full, or --fast: size, time and sampled blocks, which is weaker); an index made
before fingerprints says "no fingerprint" instead of pretending."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from realdata import SHARED, error_lines, run_cli

CLIP = SHARED / "footage" / "vn_truccat_crossroad_day.mp4"
OTHER = SHARED / "footage" / "vn_boulevard_motorbikes_day.mp4"

pytestmark = pytest.mark.skipif(not CLIP.exists() or not (SHARED / "models" / "yolo11n.pt").exists(), reason="needs ../shared")


def run(index: Path, *args: str):
    return run_cli("--index", str(index), *args, env={"FORENSIC_MODELS": str(SHARED / "models"), "FORENSIC_IMGSZ": "320",
                                                      "FORENSIC_SETTLE": "0"})


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """(index, recording, a hit id): a private copy of a real clip, indexed with the real detector."""
    folder = tmp_path_factory.mktemp("fp")
    video = folder / "cam1" / "clip.mp4"
    video.parent.mkdir()
    shutil.copy(CLIP, video)
    index = folder / "idx"
    result = run(index, "index", str(video))
    assert result.exit_code == 0, result.output
    return index, video


@pytest.fixture
def recording(indexed):
    """(index, recording, a hit id): put back as it was (bytes and times) after each test."""
    index, video = indexed
    with sqlite3.connect(index / "index.sqlite") as db:
        hit = db.execute("SELECT id FROM detections ORDER BY conf DESC LIMIT 1").fetchone()[0]
    original, st = video.read_bytes(), video.stat()
    yield index, video, hit
    video.write_bytes(original)
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns))


def edit_in_the_middle(video: Path) -> None:
    """Change 4 bytes half-way through (between the sampled blocks), keeping the size and modification time."""
    st = video.stat()
    with open(video, "r+b") as f:
        f.seek(st.st_size // 2 + 12345)
        old = f.read(4)
        f.seek(-4, os.SEEK_CUR)
        f.write(bytes(b ^ 0xFF for b in old))
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert video.stat().st_size == st.st_size and video.stat().st_mtime_ns == st.st_mtime_ns


def test_the_full_sha256_is_stored_when_indexed(recording):
    from forensic.files import sampled_sha256

    index, video, _ = recording
    with sqlite3.connect(index / "index.sqlite") as db:
        stored, sampled = db.execute("SELECT sha256, sampled_sha256 FROM videos").fetchone()
    assert stored == sha256(video) == sha256(CLIP) and sampled == sampled_sha256(video)
    check = run(index, "verify")
    assert check.exit_code == 0 and "recordings: 1 checked (full SHA-256)" in check.stdout, check.output


def test_a_recording_replaced_at_the_same_path_is_refused(recording, tmp_path):
    index, video, hit = recording
    before = sha256(video)
    shutil.copy(OTHER, video)
    after = sha256(video)
    out = tmp_path / "frame.jpg"
    shown = run(index, "show", str(hit), "--out", str(out))
    assert shown.exit_code == 3 and not out.exists(), shown.output
    (line,) = error_lines(shown)
    assert before in line and after in line and "changed since it was indexed" in line
    if shutil.which("ffmpeg") and shutil.which("ffprobe"):
        case = tmp_path / "case"
        exported = run(index, "export", str(hit), "--out", str(case))
        assert exported.exit_code == 3 and not case.exists(), exported.output
        assert before in error_lines(exported)[0] and after in error_lines(exported)[0]
    again = run(index, "index", str(video))
    assert again.exit_code == 1 and before in again.output and after in again.output, again.output
    for args in (("verify",), ("verify", "--fast")):
        check = run(index, *args)
        assert check.exit_code == 1 and "problem: recording" in check.stdout, check.output


def test_an_edit_in_the_middle_with_size_and_time_kept_is_refused(recording, tmp_path):
    index, video, hit = recording
    before = sha256(video)
    edit_in_the_middle(video)
    out = tmp_path / "frame.jpg"
    shown = run(index, "show", str(hit), "--out", str(out))
    assert shown.exit_code == 3 and not out.exists(), shown.output
    assert before in error_lines(shown)[0] and sha256(video) in error_lines(shown)[0]
    full = run(index, "verify")
    assert full.exit_code == 1 and before in full.stdout and sha256(video) in full.stdout
    fast = run(index, "verify", "--fast")  # a file under 4 MiB is covered whole by the sampled blocks
    assert fast.exit_code == 1 and "sampled blocks differ" in fast.stdout, fast.output


def test_the_fast_check_is_weaker_on_a_large_file(tmp_path):
    """What docs/evidence.md says of --fast: 64 blocks of 64 KiB see a replaced file or a changed length, not an
    edit between the blocks of a large file (the full SHA-256 sees every byte)."""
    from forensic.files import sampled_sha256, sha256_file

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(32 << 20))
    sampled, full = sampled_sha256(big), sha256_file(big)
    edit_in_the_middle(big)  # 16 MiB + 12345: between two sampled blocks (every 520 KiB)
    assert sampled_sha256(big) == sampled and sha256_file(big) != full
    with open(big, "r+b") as f:
        f.write(b"x")  # in the first block
    assert sampled_sha256(big) != sampled


def test_touched_but_unchanged_is_not_indexed_again_and_replace_changed_reindexes(recording):
    index, video, _ = recording
    os.utime(video, (1_700_000_000, 1_700_000_000))
    touched = run(index, "index", str(video))
    assert touched.exit_code == 0 and "0 indexed, 1 skipped" in touched.stderr, touched.output
    shutil.copy(OTHER, video)
    replaced = run(index, "index", str(video), "--replace-changed")
    assert replaced.exit_code == 0 and "1 indexed" in replaced.stderr, replaced.output
    with sqlite3.connect(index / "index.sqlite") as db:
        assert db.execute("SELECT sha256 FROM videos").fetchall() == [(sha256(OTHER),)]
    shutil.copy(CLIP, video)
    assert run(index, "index", str(video), "--replace-changed").exit_code == 0  # as the other tests expect it


def test_an_index_without_fingerprints_says_so(recording, tmp_path):
    index, video, hit = recording
    legacy = tmp_path / "legacy"
    shutil.copytree(index, legacy, ignore=shutil.ignore_patterns("write.lock"))
    with sqlite3.connect(legacy / "index.sqlite") as db:
        db.execute("UPDATE videos SET sha256=NULL, sampled_sha256=NULL")
    shown = run(legacy, "show", str(hit), "--out", str(tmp_path / "f.jpg"))
    assert shown.exit_code == 0 and "no fingerprint" in shown.stderr, shown.output
    check = run(legacy, "verify")
    assert check.exit_code == 0 and "no fingerprint" in check.stdout and "recordings: 0 checked" in check.stdout, check.output
