"""A damaged or read-only index (issue 11, item 6): garbage in the search columns or a FAISS file is found
by its checksum (on open and by `verify`) instead of giving wrong hits ("4 kB of garbage in the search
columns makes --color black return 483 wrong hits and verify says ok"); a damaged SQLite file is one line
saying what is still readable and how to salvage it (exit 3), never a traceback; a read-only index is
searched in read-only mode and `index` on it says so in one line, changing nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from forensic.api import SearchRequest, run_search
from forensic.index import columns, vectorstore
from forensic.index.store import IndexStore
from forensic.settings import Settings
from realdata import error_lines, run_cli
from test_columns import build


def black_hits(root: Path) -> list[int]:
    result = run_search(SearchRequest(colors=("black",), limit=1000), Settings.from_env({}, index=root))
    return sorted(h.id for h in result.hits)


def garbage(path: Path, at: float = 0.5, size: int = 4096) -> None:
    """Overwrite `size` bytes in the middle with random ones, keeping the file's size."""
    n = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(int(n * at))
        f.write(os.urandom(min(size, n - int(n * at))))
    assert path.stat().st_size == n


def columns_garbage(path: Path, array: str = "conf") -> None:
    """Random bytes over the used part of one array of the search columns (the room past it is never read)."""
    h = columns._header(np.memmap(path, np.uint8, mode="r"))
    used = h["counts"]["n"] * np.dtype(columns._SPEC[array][0]).itemsize
    assert used > 0
    with open(path, "r+b") as f:
        f.seek(h["offsets"][array])
        f.write(os.urandom(used))


def test_garbage_in_the_search_columns_is_found_not_searched(tmp_path):
    root = build(tmp_path, videos=6)
    good = black_hits(root)
    assert good
    path = root / columns.FILE_NAME
    columns_garbage(path)
    assert columns.damage(path) is not None and columns.load(path) is None
    check = run_cli("--index", str(root), "verify")
    assert check.exit_code == 1 and "problem: search columns search-columns.bin: column" in check.stdout, check.output
    assert black_hits(root) == good  # read from the database, never from the damaged file
    assert columns.damage(path) is None  # and the search (no writer running) wrote it again
    assert run_cli("--index", str(root), "verify").exit_code == 0


def test_garbage_in_the_search_columns_is_repaired(tmp_path):
    root = build(tmp_path)
    columns_garbage(root / columns.FILE_NAME, "track")
    repair = run_cli("--index", str(root), "verify", "--repair")
    assert repair.exit_code == 0 and "fixed: search columns" in repair.stdout, repair.output
    assert columns.damage(root / columns.FILE_NAME) is None


def test_garbage_in_a_faiss_file_is_found_by_verify(tmp_path):
    root = build(tmp_path)
    with IndexStore(root) as store:
        vec = store.get_vectors("appearance", [store.columns().id[5]])[0]
        before = store.vector_index("appearance").search(vec, 10)[0].tolist()
    manifest = json.loads(vectorstore.manifest_path(root, "appearance").read_text())
    assert all(s["crc32"] is not None and s["size"] for s in manifest["segments"])  # recorded when written
    segment = root / manifest["segments"][0]["file"]
    garbage(segment, 0.6, 512)  # inside the vectors: FAISS would read it without a word
    check = run_cli("--index", str(root), "verify")
    assert check.exit_code == 1 and f"{segment.name} is damaged" in check.stdout, check.output
    assert run_cli("--index", str(root), "verify", "--repair").exit_code == 0
    assert run_cli("--index", str(root), "verify").exit_code == 0
    with IndexStore(root) as store:
        assert store.vector_index("appearance").search(vec, 10)[0].tolist() == before


def test_a_truncated_faiss_file_is_not_opened(tmp_path):
    root = build(tmp_path)
    manifest = json.loads(vectorstore.manifest_path(root, "appearance").read_text())
    segment = root / manifest["segments"][0]["file"]
    with open(segment, "ab") as f:
        f.write(b"\0" * 100)  # the cheap check on open: the size the manifest recorded
    with IndexStore(root) as store:
        vec = store.get_vectors("appearance", [store.columns().id[0]])[0]
        assert store.vector_index("appearance").search(vec, 1)[0][0] == store.columns().id[0]  # read from SQLite instead


def test_verify_during_an_index_run_reports_no_damage(tmp_path):
    """Issue 11: `verify` while an index run wrote reported the video being indexed (and its thumbnails, and the
    search files catching up) as damage."""
    import numpy as np

    from realdata import tiny_jpeg
    from test_store import detections, info, unit, video_file

    root = build(tmp_path)
    rng = np.random.default_rng(3)
    with IndexStore(root, writer=True) as writer:  # a run half-way through a video
        path = video_file(tmp_path, "cam1/being-indexed.mp4")
        vid = writer.begin_video(path, "cam1", info(path), 2.0, "fp")
        writer.add_detections(vid, 0, 0.0, detections(rng, 3), [{"whole": {}}] * 3, np.full(3, 0.5, np.float32),
                              [tiny_jpeg(k) for k in range(3)], {"appearance": unit(rng, 3)})
        writer.commit()
        (root / "thumbs" / str(vid) / "99999.jpg").write_bytes(tiny_jpeg(9))  # a thumbnail written just before its row
        during = run_cli("--index", str(root), "verify")
        assert during.exit_code == 0 and "note: an index run is writing" in during.stdout, during.output
        columns_garbage(root / columns.FILE_NAME)  # damage still counts while it runs
        assert run_cli("--index", str(root), "verify").exit_code == 1
        (root / "thumbs" / str(vid) / "99999.jpg").unlink()
    assert run_cli("--index", str(root), "verify").exit_code == 1  # after the run: the unfinished video is a problem again


def _when_thumbnails_are_checked(monkeypatch, root: Path, action) -> None:
    """Run `action` once, when verify first looks for a thumbnail file (after it read the detections' rows)."""
    real = Path.is_file
    done = []

    def is_file(self):
        if not done and str(self).startswith(str(root / "thumbs")):
            done.append(action())
        return real(self)

    monkeypatch.setattr(Path, "is_file", is_file)


def test_verify_while_the_run_removes_a_video_it_indexes_again(tmp_path, monkeypatch):
    """A changed recording is indexed again: its old rows go, then its thumbnails. A verify that read the rows
    just before must not report the thumbnails as missing."""
    root = build(tmp_path)
    with IndexStore(root, writer=True) as writer:
        old = writer.videos("done")[0]["id"]
        _when_thumbnails_are_checked(monkeypatch, root, lambda: writer.delete_video(old))
        during = run_cli("--index", str(root), "verify")
        assert not (root / "thumbs" / str(old)).exists()
        assert during.exit_code == 0 and "thumbnails missing" not in during.stdout, during.output


def test_verify_while_an_index_run_starts(tmp_path, monkeypatch):
    """The run starts after verify looked for a writer: verify looks again rather than call its work damage."""
    import numpy as np

    from realdata import tiny_jpeg
    from test_store import detections, info, unit, video_file

    root = build(tmp_path)
    rng = np.random.default_rng(4)
    writers = []

    def start_a_run():
        writer = IndexStore(root, writer=True)
        writers.append(writer)
        path = video_file(tmp_path, "cam1/started-meanwhile.mp4")
        vid = writer.begin_video(path, "cam1", info(path), 2.0, "fp2")
        writer.add_detections(vid, 0, 0.0, detections(rng, 2), [{"whole": {}}] * 2, np.full(2, 0.5, np.float32),
                              [tiny_jpeg(k) for k in range(2)], {"appearance": unit(rng, 2)})  # not committed yet
    _when_thumbnails_are_checked(monkeypatch, root, start_a_run)
    try:
        during = run_cli("--index", str(root), "verify")
    finally:
        for w in writers:
            w.close()
    assert during.exit_code == 0 and "note: an index run is writing" in during.stdout, during.output


def damage_database(root: Path) -> None:
    with sqlite3.connect(root / "index.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db_file = root / "index.sqlite"
    n = db_file.stat().st_size
    with open(db_file, "r+b") as f:  # every page but the first (the schema) overwritten
        f.seek(4096)
        f.write(os.urandom(n - 4096))


@pytest.mark.parametrize("command", [("verify",), ("search", "--color", "black"), ("stats",), ("verify", "--repair")])
def test_a_damaged_database_is_one_line_never_a_traceback(tmp_path, command):
    root = build(tmp_path)
    damage_database(root)
    result = run_cli("--index", str(root), *command)
    assert result.exit_code == 3, result.output
    (line,) = error_lines(result)
    assert "is damaged" in line and "still readable:" in line and ".recover" in line and "recordings" in line
    assert result.stdout == ""


def test_a_file_that_is_no_database_is_reported_as_such(tmp_path):
    root = tmp_path / "idx"
    root.mkdir()
    (root / "index.sqlite").write_bytes(b"this is not sqlite" * 300)
    result = run_cli("--index", str(root), "verify")
    assert result.exit_code == 3 and "not a forensic index database, or is damaged" in error_lines(result)[0]


# --- read-only: the index on a read-only file system (where even root cannot write) ------------------------
@pytest.fixture
def read_only_index(tmp_path):
    """(the index seen through a read-only bind mount, the folder under it); skips where mounting is not allowed."""
    src = build(tmp_path / "src")
    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(src), str(ro)], capture_output=True).returncode == 0
    if mounted and subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], capture_output=True).returncode != 0:
        subprocess.run(["umount", str(ro)])
        mounted = False
    if not mounted:
        pytest.skip("needs a read-only bind mount (root in a namespace that allows mount)")
    try:
        yield ro, src
    finally:
        subprocess.run(["umount", str(ro)], check=True)


def snapshot(root: Path) -> dict:
    return {p.name: (p.stat().st_mode, p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


def test_a_read_only_index_is_searchable_and_index_says_so(read_only_index, tmp_path):
    ro, src = read_only_index
    want = black_hits(src)
    before = snapshot(src)
    state = tmp_path / "state"
    env = {"XDG_STATE_HOME": str(state)}
    found = run_cli("--index", str(ro), "search", "--color", "black", "--limit", "1000", "--json", env=env)
    assert found.exit_code == 0, found.output
    assert sorted(h["id"] for h in json.loads(found.stdout)) == want and "read-only" in found.stderr
    (log,) = state.glob("forensic/read-only-audit/*/audit.jsonl")
    (entry,) = [json.loads(x) for x in log.read_text().splitlines()]  # the search is audited all the same, outside the index
    assert entry["command"] == "search" and entry["read_only"] and entry["index"] == str(ro.resolve())
    assert run_cli("--index", str(ro), "stats", env=env).exit_code == 0
    check = run_cli("--index", str(ro), "verify", env=env)
    assert check.exit_code == 0 and "Traceback" not in check.output, check.output
    indexing = run_cli("--index", str(ro), "index", str(tmp_path / "nothing.mp4"), env=env)
    assert indexing.exit_code == 2
    (line,) = error_lines(indexing)
    assert "is read-only" in line and "nothing was changed" in line
    assert snapshot(src) == before  # nothing written, no file's mode changed
