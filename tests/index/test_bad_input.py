"""Unattended batches meet bad files: each gets one clear line and the right exit code, the other
files are still indexed, and nothing already indexed is lost."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensic.cli import cli
from forensic.index import store as store_module
from forensic.index.store import IndexStore
from realdata import SHARED

CLIP = SHARED / "footage" / "vn_truccat_crossroad_day.mp4"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CLIP.exists(), reason="needs ../shared footage and models")]


def run(index: Path, *args: str):
    env = {"FORENSIC_MODELS": str(SHARED / "models"), "FORENSIC_IMGSZ": "320", "FORENSIC_SETTLE": "0"}
    return CliRunner().invoke(cli, ["--index", str(index), *args], env=env)


def indexed_paths(index: Path) -> set[str]:
    with IndexStore(index) as s:
        return {Path(r["path"]).name for r in s.videos("done")}


def test_bad_files_fail_one_line_each_and_good_files_are_indexed(tmp_path):
    folder = tmp_path / "Camera Ngã Tư" / "đêm qua"  # diacritics and spaces in the path
    folder.mkdir(parents=True)
    shutil.copy(CLIP, folder / "cổng chính 1.mp4")
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("this is not a video\n")
    data = CLIP.read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) * 2 // 5])  # truncated in the middle
    result = run(tmp_path / "idx", "index", str(folder), str(tmp_path / "missing.mp4"))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    failed = [line for line in result.stderr.splitlines() if line.strip().startswith("failed:")]
    for name in ("empty.mp4", "notes.mp4", "cut.mp4", "missing.mp4"):
        assert sum(name in line for line in failed) == 1, (name, failed)
    assert "0 bytes" in result.stderr and "truncated" in result.stderr
    assert "cổng chính 1.mp4" in indexed_paths(tmp_path / "idx")


def test_no_video_stream(tmp_path):
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg not installed")
    audio = tmp_path / "audio_only.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2", str(audio)], check=True)
    result = run(tmp_path / "idx", "index", str(audio))
    assert result.exit_code == 1
    assert "audio_only.mp4" in result.stderr and "Traceback" not in result.output


def test_unreadable_file(tmp_path):
    """Root reads any file, so as root (how CI runs) the run first gives up its capability to override
    file permissions (util-linux setpriv), then meets the file as any user would."""
    import sys

    locked = tmp_path / "locked.mp4"
    shutil.copy(CLIP, locked)
    locked.chmod(0)
    command = [sys.executable, "-m", "forensic", "--index", str(tmp_path / "idx"), "index", str(locked)]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv (util-linux) to give up reading unreadable files")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    env = {**os.environ, "FORENSIC_MODELS": str(SHARED / "models"), "FORENSIC_IMGSZ": "320", "FORENSIC_SETTLE": "0"}
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "locked.mp4: permission denied" in proc.stderr.lower() and "Traceback" not in proc.stderr


def test_thousands_of_non_video_files_are_ignored(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    for i in range(3000):
        (folder / f"log_{i}.txt").write_text("x")
    (folder / "cam.mp4").symlink_to(CLIP)
    result = run(tmp_path / "idx", "index", str(folder))
    assert result.exit_code == 0, result.output
    assert "1 indexed, 0 skipped" in result.stderr and "failed: " not in result.stderr


def test_disk_full_while_writing_thumbnails(tmp_path, monkeypatch):
    """An injected ENOSPC on one video's thumbnails fails that video only; the index stays sound."""
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    first.symlink_to(CLIP)
    second.symlink_to(SHARED / "footage" / "office_man_white_shirt.mp4")
    real_write = store_module.write_private

    def full_disk(path, data):
        if "/thumbs/" in str(path) and "b.mp4" in current["video"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, data)

    current = {"video": ""}
    real_begin = IndexStore.begin_video

    def begin(self, path, *a, **k):
        current["video"] = str(path)
        return real_begin(self, path, *a, **k)

    monkeypatch.setattr(store_module, "write_private", full_disk)
    monkeypatch.setattr(IndexStore, "begin_video", begin)
    result = run(tmp_path / "idx", "index", str(first), str(second))
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr
    assert indexed_paths(tmp_path / "idx") == {"a.mp4"}
    monkeypatch.undo()
    check = run(tmp_path / "idx", "verify")
    assert check.exit_code == 0, check.output
    again = run(tmp_path / "idx", "index", str(second))  # space is back: the failed file is retried
    assert again.exit_code == 0 and indexed_paths(tmp_path / "idx") == {"a.mp4", "b.mp4"}


def test_deleted_search_files_are_rebuilt(tmp_path):
    video = tmp_path / "cam.mp4"
    video.symlink_to(CLIP)
    idx = tmp_path / "idx"
    assert run(idx, "index", str(video)).exit_code == 0
    before = run(idx, "search", "--image", str(SHARED / "footage" / "photos" / "white_suv_everest.png"), "--json")
    files = [*idx.glob("vectors-appearance*"), idx / "search-columns.bin"]
    assert len(files) == 3
    for f in files:
        f.unlink()
    after = run(idx, "search", "--image", str(SHARED / "footage" / "photos" / "white_suv_everest.png"), "--json")
    assert after.exit_code == 0 and after.stdout == before.stdout  # the search rebuilt them from SQLite (no writer running)
    assert all(f.exists() for f in files) and run(idx, "verify").exit_code == 0
    for f in idx.glob("vectors-appearance*"):
        f.unlink()
    check = run(idx, "verify")
    assert check.exit_code == 1 and "missing" in check.stdout
    assert run(idx, "verify", "--repair").exit_code == 0
    assert run(idx, "verify").exit_code == 0
    assert run(tmp_path / "idx", "verify").exit_code == 0


def test_second_run_indexes_nothing_and_a_touched_file_is_not_reindexed(tmp_path):
    video = tmp_path / "cam.mp4"
    shutil.copy(CLIP, video)
    assert run(tmp_path / "idx", "index", str(tmp_path)).exit_code == 0
    second = run(tmp_path / "idx", "index", str(tmp_path))
    assert second.exit_code == 0 and "0 indexed, 1 skipped" in second.stderr
    moved = tmp_path / "moved" / "renamed.mp4"
    moved.parent.mkdir()
    video.rename(moved)
    third = run(tmp_path / "idx", "index", str(tmp_path))
    assert "0 indexed, 1 skipped" in third.stderr and indexed_paths(tmp_path / "idx") == {"renamed.mp4"}
    os.utime(moved, (1, 1))  # touched: the same content (its SHA-256), so not indexed again
    with IndexStore(tmp_path / "idx") as s:
        count = s.db.execute("SELECT COUNT(*) FROM detections").fetchone()[0]
    fourth = run(tmp_path / "idx", "index", str(tmp_path))
    assert "0 indexed, 1 skipped" in fourth.stderr
    with IndexStore(tmp_path / "idx") as s:
        assert s.db.execute("SELECT COUNT(*) FROM detections").fetchone()[0] == count


def test_second_writer_exits_at_once(tmp_path):
    with IndexStore(tmp_path / "idx", writer=True):
        result = run(tmp_path / "idx", "index", str(CLIP))
    assert result.exit_code == 2 and "another 'forensic index' is writing" in result.stderr
