"""A failure in describing one detection (its colours, crop or vector) fails that file alone, with one
line naming the exception, and the batch goes on (issue 11, item 9). Until now a crop whose surroundings
had no dominant colour raised in the colour code and aborted the whole index run with a traceback, so
the same file stopped every nightly run."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensic.index import pipeline
from forensic.index.store import IndexStore
from realdata import TRUCCAT
from realdata import run_cli as run

FAST = ["--fps", "1", "--imgsz", "320", "--device", "cpu", "--backend", "torch"]


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["attributes", "crop_vectors", "track_colours"])
def test_an_exception_describing_one_file_fails_it_alone(tmp_path, footage, models_dir, monkeypatch, stage):
    folder = tmp_path / "cam1"
    folder.mkdir()
    bad, good = folder / "a-bad.mp4", folder / "b-good.mp4"
    for link in (bad, good):
        link.symlink_to((footage / TRUCCAT).resolve())
    current = {"video": None}
    real_begin = IndexStore.begin_video

    def begin(self, path, *a, **k):
        current["video"] = Path(path).name
        return real_begin(self, path, *a, **k)

    monkeypatch.setattr(IndexStore, "begin_video", begin)
    if stage == "attributes":
        real = pipeline.attributes

        def attributes(image, dets, *rest):
            if current["video"] == bad.name:
                raise ValueError("no dominant colour around the crop")
            return real(image, dets, *rest)

        monkeypatch.setattr(pipeline, "attributes", attributes)
    elif stage == "track_colours":
        from forensic.index import store as store_module

        real_vote = store_module.vote_colors

        def vote_colors(colors, weights):
            if current["video"] == bad.name:
                raise KeyError("whole")
            return real_vote(colors, weights)

        monkeypatch.setattr(store_module, "vote_colors", vote_colors)
    else:
        from forensic.models.appearance import AppearanceEmbedder

        real_embed = AppearanceEmbedder.embed

        def embed(self, image, dets):
            if current["video"] == bad.name and len(dets):
                raise FloatingPointError("vector of NaN")
            return real_embed(self, image, dets)

        monkeypatch.setattr(AppearanceEmbedder, "embed", embed)
    idx = tmp_path / "idx"
    result = run("--index", str(idx), "index", *FAST, str(bad), str(good), env={"FORENSIC_MODELS": str(models_dir)})
    assert result.exit_code == 1, result.output
    failed = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("failed:")]
    assert len(failed) == 1 and bad.name in failed[0], failed
    assert {"attributes": "ValueError: no dominant colour", "crop_vectors": "FloatingPointError: vector of NaN",
            "track_colours": "KeyError: 'whole'"}[stage] in failed[0]
    assert "1 indexed" in result.stderr and "1 failed" in result.stderr
    with IndexStore(idx) as store:
        rows = {Path(r["path"]).name: r for r in store.videos(None)}
    assert rows[good.name]["status"] == "done" and rows[bad.name]["status"] == "failed"
    assert run("--index", str(idx), "verify").exit_code == 0
    monkeypatch.undo()  # the problem is gone: the next run indexes the file
    again = run("--index", str(idx), "index", *FAST, str(bad), env={"FORENSIC_MODELS": str(models_dir)})
    assert again.exit_code == 0, again.output
