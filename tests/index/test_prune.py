"""prune shows what it would remove and removes only when told (issue 11, item 5): without --yes it is a
dry run (or asks, on a terminal), and it judges age by when the footage was indexed unless told --by
recorded. `prune --older-than 30d` used to remove videos indexed minutes earlier because their recorder's
clock said 2018, and `--older-than 0d` emptied the index without a word."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from forensic.index.store import IndexStore
from builders import Row, build_index
from realdata import TRUCCAT
from realdata import run_cli as run

EIGHT_YEARS = -8 * 365 * 86400


def done(index: Path) -> set[str]:
    with IndexStore(index) as store:
        return {Path(r["path"]).name for r in store.videos("done")}


@pytest.fixture
def old_clock_index(tmp_path, footage, models_dir):
    """One real recording whose recorder's clock is eight years behind (recorded '2018'), indexed just now."""
    cameras = tmp_path / "cameras.toml"
    cameras.write_text(f'[[camera]]\nid = "cam1"\nmatch = ["*/cam1/*"]\nclock_offset = {EIGHT_YEARS}\n')
    (tmp_path / "cam1").mkdir()
    (tmp_path / "cam1" / "a.mp4").symlink_to((footage / TRUCCAT).resolve())
    idx = tmp_path / "idx"
    args = ["--index", str(idx), "--cameras", str(cameras)]
    result = run(*args, "index", "--fps", "1", "--imgsz", "320", "--device", "cpu", "--backend", "torch", str(tmp_path / "cam1"),
                 env={"FORENSIC_MODELS": str(models_dir), "FORENSIC_SETTLE": "0"})
    assert result.exit_code == 0, result.output
    with IndexStore(idx) as store:
        (row,) = store.videos("done")
        assert row["start_time"] < "2019"  # the recorder's clock
    return args, idx


@pytest.mark.slow
def test_prune_judges_age_by_indexing_time_and_removes_only_when_told(old_clock_index, monkeypatch):
    args, idx = old_clock_index
    recent = run(*args, "prune", "--older-than", "30d", "--yes")
    assert recent.exit_code == 0 and "nothing to remove" in recent.stdout and done(idx) == {"a.mp4"}

    by_clock = run(*args, "prune", "--older-than", "30d", "--by", "recorded")  # not a terminal, no --yes: a dry run
    assert by_clock.exit_code == 0, by_clock.output
    assert "would remove: " in by_clock.stdout and "a.mp4" in by_clock.stdout and "recorded 2018" in by_clock.stdout
    assert "nothing removed (add --yes to remove)" in by_clock.stdout and done(idx) == {"a.mp4"}

    time.sleep(1.1)  # indexed more than 0 seconds ago (times are kept to the second)
    everything = run(*args, "prune", "--older-than", "0d")
    assert everything.exit_code == 0 and "nothing removed" in everything.stdout and done(idx) == {"a.mp4"}
    dry = run(*args, "prune", "--older-than", "0d", "--dry-run", "--yes")
    assert "would remove: " in dry.stdout and done(idx) == {"a.mp4"}

    from forensic import cli as cli_module

    monkeypatch.setattr(cli_module, "_interactive", lambda: True)  # a person at a terminal: asked, and says no
    from click.testing import CliRunner

    declined = CliRunner().invoke(cli_module.cli, [*args, "prune", "--older-than", "0d"], input="n\n", env={})
    assert declined.exit_code == 0 and "remove these 1 videos?" in declined.stderr and done(idx) == {"a.mp4"}
    accepted = CliRunner().invoke(cli_module.cli, [*args, "prune", "--older-than", "0d"], input="y\n", env={})
    assert accepted.exit_code == 0 and "removed 1 videos" in accepted.stdout and done(idx) == set()
    assert run(*args, "verify").exit_code == 0


def test_prune_by_recorded_time_and_stats_use_the_cameras_file_now(tmp_path):
    """A recorder eight years behind, indexed with that offset (stored start 2018), then its offset set
    right in the cameras file: hits show 2026, and so do `prune --by recorded` and `stats`; they judged
    by the start stored at indexing (2018) and would have removed footage the hits date 2026."""
    idx = build_index(tmp_path, [Row(camera="cam1", video="a.mp4", t=1.0)], start="2018-11-23T10:00:00+07:00",
                      recorded=("2026-11-21T10:00:00", "Asia/Ho_Chi_Minh", EIGHT_YEARS))
    cameras = tmp_path / "cameras.toml"
    cameras.write_text(f'[[camera]]\nid = "cam1"\nclock_offset = {EIGHT_YEARS}\n')
    args = ["--index", str(idx.root), "--cameras", str(cameras)]
    before = ["prune", "--before", "2020-01-01", "--by", "recorded", "--dry-run"]
    old = run(*args, *before)
    assert old.exit_code == 0 and "would remove: " in old.stdout and "recorded 2018-11-23T10:00:00" in old.stdout, old.output
    assert json.loads(run(*args, "stats", "--json").stdout)["time_span"] == ["2018-11-23T10:00:00+07:00"] * 2

    cameras.write_text('[[camera]]\nid = "cam1"\nclock_offset = 0\n')  # the recorder's clock was right after all
    now = run(*args, *before)
    assert now.exit_code == 0 and "nothing to remove" in now.stdout, now.output
    assert json.loads(run(*args, "stats", "--json").stdout)["time_span"] == ["2026-11-21T10:00:00+07:00"] * 2
    later = run(*args, "prune", "--before", "2027-01-01", "--by", "recorded", "--dry-run")
    assert "would remove: " in later.stdout and "recorded 2026-11-21T10:00:00" in later.stdout, later.output
    with IndexStore(idx.root) as store:
        assert len(store.videos("done")) == 1  # dry runs
    cameras.write_text("[[camera]]\nid = \"cam1\"\nclock_offset = \"soon\"\n")  # a cameras file that cannot be read
    broken = run(*args, "stats", "--json")
    assert broken.exit_code == 0 and json.loads(broken.stdout)["time_span"] == ["2018-11-23T10:00:00+07:00"] * 2, broken.output
    assert "clock_offset" in broken.stderr and "stored when indexing" in broken.stderr
    assert run(*args, "prune", "--before", "2020-01-01", "--dry-run").exit_code == 0  # by indexing time: the file is not read
