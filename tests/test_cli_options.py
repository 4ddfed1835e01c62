"""The shared options (--index, --models, --cameras, --download, -v, -q, --log-file, --log-format) go
before or after the command; given in both places, the one after the command wins. No weights needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realdata import run_cli as run
from realdata import one_red_car_index


@pytest.fixture
def tiny_index(tmp_path) -> Path:
    """One red car, one detection: enough for a text search without any model."""
    return one_red_car_index(tmp_path)


CAMERAS = '[[camera]]\nid = "gate"\nname = "Front gate"\nmatch = ["cam1"]\n'


@pytest.mark.parametrize("where", ["before", "after"])
def test_search_takes_index_before_or_after_the_command(tiny_index, where):
    opts = ["--index", str(tiny_index)]
    args = [*opts, "search", "red car", "--json"] if where == "before" else ["search", "red car", "--json", *opts]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert [h["class"] for h in json.loads(result.stdout)] == ["car"]


def test_the_option_after_the_command_wins(tiny_index, tmp_path):
    result = run("--index", str(tmp_path / "nowhere"), "search", "red car", "--json", "--index", str(tiny_index))
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 1


def test_cameras_file_and_logging_options_after_the_command(tiny_index, tmp_path):
    cameras = tmp_path / "cams.toml"
    cameras.write_text(CAMERAS)
    log_file = tmp_path / "run.log"
    result = run("cameras", "--json", "--index", str(tiny_index), "--cameras", str(cameras), "-q", "--log-file", str(log_file),
                 "--log-format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out[0]["id"] == "gate" and out[0]["videos"] == [str(tmp_path / "cam1" / "a.mp4")]
    assert log_file.exists()


def test_index_takes_cameras_and_models_after_the_command(tmp_path):
    cameras = tmp_path / "cams.toml"
    cameras.write_text(CAMERAS)
    models = tmp_path / "no models here"
    models.mkdir()
    result = run("index", str(tmp_path / "cam1"), "--cameras", str(cameras), "--models", str(models), "--index", str(tmp_path / "idx"))
    assert "No such option" not in result.output
    assert result.exit_code == 1 and "cam1: no such file or folder" in result.stderr  # parsed; the run went ahead
    assert str(models / "clip") in result.stderr  # the weights were looked for in --models
    assert f"-> {tmp_path / 'idx'}" in result.stderr


def test_help_of_a_command_lists_the_shared_options():
    result = run("search", "--help")
    assert result.exit_code == 0
    for opt in ("--index", "--models", "--cameras", "--download", "--quiet", "--verbose", "--log-file", "--log-format"):
        assert opt in result.stdout
