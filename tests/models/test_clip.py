"""CLIP mechanics with a tiny, randomly initialised open_clip model written to a local models folder:
offline loading, vectors, indexing, refusing to mix checkpoints, and search. Rankings are not judged
(the weights are random); the plumbing is."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from forensic.errors import ForensicError, ModelUnavailable
from forensic.index.pipeline import IndexSummary, index_videos
from forensic.index.store import VIEWS_PER_TRACK, IndexStore
from forensic.models import build_models
from forensic.models.clip import ClipEmbedder
from forensic.query import parse_query
from forensic.search.text import search_text
from forensic.settings import Settings
from realdata import TRUCCAT

TINY = "tiny-test"
CONFIG = {"embed_dim": 32,
          "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
          "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}


def make_models_dir(folder: Path, shared_models: Path, seed: int):
    """<folder>/clip/tiny-test.{json,pt} (random weights from `seed`) and a link to the real YOLO weights."""
    import open_clip
    import torch

    (folder / "clip").mkdir(parents=True)
    (folder / "clip" / f"{TINY}.json").write_text(json.dumps(CONFIG))
    (folder / "yolo11n.pt").symlink_to((shared_models / "yolo11n.pt").resolve())
    open_clip.add_model_config(folder / "clip" / f"{TINY}.json")
    torch.manual_seed(seed)
    model = open_clip.create_model(TINY).eval()
    torch.save(model.state_dict(), folder / "clip" / f"{TINY}.pt")
    return model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, models_dir):
    folder = tmp_path_factory.mktemp("models")
    model = make_models_dir(folder, models_dir, seed=0)
    return folder, model


@pytest.fixture(autouse=True)
def _no_offline_variables(monkeypatch):
    """Loading a model sets offline variables in os.environ: start each test without them (so the
    test sees what the CLIP loader itself sets) and put things back afterwards."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "YOLO_OFFLINE"):
        monkeypatch.setenv(key, "")  # records the old value (or its absence) for teardown
        monkeypatch.delenv(key)


def test_tiny_clip_loads_the_local_checkpoint(tiny):
    import open_clip
    import torch

    folder, reference = tiny
    clip = ClipEmbedder(model_name=TINY, models_dir=folder, device="cpu")
    assert clip.available and clip.checkpoint == folder / "clip" / f"{TINY}.pt" and clip.config is not None
    assert clip.name.startswith(f"clip/{TINY}/{TINY}.pt:")
    assert clip.dim == 32
    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # loaded with the network off

    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in ((50, 30), (20, 80), (64, 64))]
    images = clip.embed_images(crops)
    texts = clip.embed_text(["a photo of a red motorbike", "xe máy màu đỏ"])
    assert images.shape == (3, 32) and texts.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(texts[0], texts[1]) and not np.allclose(images[0], images[1])
    # The weights are the saved ones, not a fresh random initialisation.
    with torch.inference_mode():
        expected = torch.nn.functional.normalize(reference.encode_text(open_clip.get_tokenizer(TINY)(["a photo of a red motorbike"])), dim=-1)
    np.testing.assert_allclose(texts[0], expected[0].numpy(), atol=1e-5)


def test_missing_clip_weights(tmp_path, models_dir):
    clip = ClipEmbedder(model_name=TINY, models_dir=tmp_path, device="cpu")
    assert not clip.available and "--download" in clip.describe_missing()
    with pytest.raises(ModelUnavailable, match="not found"):
        ClipEmbedder(checkpoint=tmp_path / "nope.pt")
    (tmp_path / "yolo11n.pt").symlink_to((models_dir / "yolo11n.pt").resolve())
    settings = Settings.from_env({}, models=tmp_path, clip_model=TINY, device="cpu")
    assert build_models(settings).clip is None  # auto: no weights, no CLIP
    with pytest.raises(ModelUnavailable, match="no CLIP weights"):
        build_models(settings.with_(clip="on"))


def clip_settings(models: Path, index: Path) -> Settings:
    return Settings.from_env({}, index=index, models=models, clip="on", clip_model=TINY, imgsz=320, fps=1.0,
                             settle=0.0, device="cpu")


@pytest.fixture(scope="module")
def clip_index(tmp_path_factory, tiny, footage):
    folder, _ = tiny
    base = tmp_path_factory.mktemp("clipidx")
    (base / "cam").mkdir()
    video = base / "cam" / TRUCCAT
    video.symlink_to((footage / TRUCCAT).resolve())
    settings = clip_settings(folder, base / "idx")
    models = build_models(settings)
    summary = IndexSummary()
    with IndexStore(settings.index, writer=True) as store:
        list(index_videos([video], store, models, settings, summary))
    assert not summary.failed and summary.detections > 10
    return settings, models, video, summary


@pytest.mark.slow
def test_clip_vectors_are_stored_for_every_view(clip_index):
    """Both embedders keep the vectors of each track's views (at most VIEWS_PER_TRACK, schema 2), in SQLite
    and in the FAISS files alike."""
    settings, models, _, summary = clip_index
    with IndexStore(settings.index) as store:
        assert store.embedder("clip") == (models.clip.name, 32)
        n = store.db.execute("SELECT COUNT(*) FROM detections").fetchone()[0]
        assert n == summary.detections
        kept = {key: sorted(r[0] for r in store.db.execute("SELECT det_id FROM views WHERE key = ?", (key,)))
                for key in ("clip", "appearance")}
        assert kept["clip"] == kept["appearance"] and 0 < len(kept["clip"]) <= n
        assert store.vector_index("clip").ntotal == len(kept["clip"]) == store.vector_index("appearance").ntotal
        per_track = dict(store.db.execute("SELECT d.track, COUNT(*) FROM views v JOIN detections d ON d.id = v.det_id "
                                          "WHERE v.key = 'clip' GROUP BY d.track").fetchall())
        tracks = {r[0] for r in store.db.execute("SELECT id FROM tracks")}
        assert set(per_track) == tracks and all(1 <= c <= VIEWS_PER_TRACK for c in per_track.values())
        np.testing.assert_allclose(np.linalg.norm(store.get_vectors("clip", kept["clip"]), axis=1), 1.0, atol=2e-3)
        assert store.verify() == []


@pytest.mark.slow
def test_another_checkpoint_is_refused(clip_index, tmp_path, models_dir, footage):
    settings, models, video, summary = clip_index
    other = tmp_path / "models"
    make_models_dir(other, models_dir, seed=1)  # same architecture and name, other weights
    other_models = build_models(clip_settings(other, settings.index))
    assert other_models.clip.name != models.clip.name
    with IndexStore(settings.index, writer=True) as store:
        with pytest.raises(ForensicError, match="refusing to mix"):
            list(index_videos([footage / "office_man_white_shirt.mp4"], store, other_models, settings))
    with IndexStore(settings.index) as store:
        assert store.embedder("clip") == (models.clip.name, 32)
        assert [Path(r["path"]) for r in store.videos(None)] == [video]


@pytest.mark.slow
def test_text_search_with_clip(clip_index):
    settings, models, _, _ = clip_index
    with IndexStore(settings.index) as store:
        hits = search_text(store, parse_query("red motorbike"), models.clip, limit=5)
        assert hits and all(h.cls == "motorcycle" and 0.0 <= h.score <= 1.0 for h in hits)
        without = search_text(store, parse_query("red motorbike"), None, limit=5)
        assert [h.score for h in hits] != [h.score for h in without]  # CLIP took part in the scores
        # Nothing understood: CLIP alone ranks, similarities scaled to 0..1 over the candidates.
        hits = search_text(store, parse_query("zebra"), models.clip, limit=5, per_frame=True)
        assert len(hits) == 5 and hits[0].score == pytest.approx(1.0)
        assert all(0.0 <= h.score <= 1.0 for h in hits)


@pytest.mark.slow
def test_text_search_with_clip_through_the_cli(clip_index):
    from click.testing import CliRunner

    from forensic.cli import cli

    settings, models, _, _ = clip_index
    result = CliRunner().invoke(cli, ["--index", str(settings.index), "--models", str(settings.models), "search", "zebra",
                                      "--clip-model", TINY, "--json", "--limit", "3", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3 and all(0.0 <= h["score"] <= 1.0 for h in hits)
    assert models.clip.name in result.stderr  # the 'understood' line names the CLIP model used
