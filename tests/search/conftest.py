"""A small real index shared by tests (built once per session): two Vietnamese crossroad clips, the sample
cameras file, and two renamed copies of one clip whose names carry DVR timestamps."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from forensic.cameras import load_cameras
from forensic.index.pipeline import IndexSummary, index_videos
from forensic.index.store import IndexStore
from forensic.models import build_models
from forensic.settings import Settings
from realdata import SHARED

ROOT = Path(__file__).resolve().parents[2]
FOOTAGE = SHARED / "footage"


@pytest.fixture(scope="session")
def search_index(tmp_path_factory):
    if not (SHARED / "models" / "yolo11n.pt").exists():
        pytest.skip("needs ../shared (footage and models)")
    base = tmp_path_factory.mktemp("search")
    footage = base / "footage"
    footage.mkdir()
    for name in ("vn_truccat_crossroad_day.mp4", "vn_crossroad_acview_day.mp4"):
        (footage / name).symlink_to(FOOTAGE / name)
    # Renamed copies as a Hikvision recorder would name them: 20:30 and 10:00 on 21 Nov 2026.
    dvr = base / "dvr" / "truccat"
    dvr.mkdir(parents=True)
    shutil.copy(FOOTAGE / "office_man_white_shirt.mp4", dvr / "ch01_20261121203000.mp4")
    shutil.copy(FOOTAGE / "office_man_white_shirt.mp4", dvr / "ch01_20261121100000.mp4")
    index = base / "index"
    settings = Settings.from_env(environ={}, index=index, models=SHARED / "models", imgsz=416, settle=0,
                                 cameras=ROOT / "samples" / "cameras.toml")
    models = build_models(settings)
    summary = IndexSummary()
    with IndexStore(index, writer=True) as store:
        list(index_videos([footage, base / "dvr"], store, models, settings, summary))
    assert not summary.failed, summary.failed
    store = IndexStore(index)
    yield {"store": store, "models": models, "settings": settings, "cameras": load_cameras(settings.cameras), "base": base}
    store.close()
