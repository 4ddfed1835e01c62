"""Shared fixtures: the real footage and weights in ../shared (never copied into the repository;
tests that need them skip with a clear reason when the folder is missing, and are marked slow) and one
real index built once per session with the real detector. Paths, object positions and helpers are in
realdata.py; the weight-free material of the fast layer (synthetic videos, the stub detector, small
indexes) in builders.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builders import SCENE, StubDetector, StubIndex, build_stub_index, stub_models
from realdata import ACVIEW, REAL_FPS, REAL_IMGSZ, SHARED, TRUCCAT, RealIndex, build_real_index


# A test that takes one of these fixtures runs the real detector or reads real footage: it belongs to
# the slow layer, marked here so that none is forgotten (pytest -m "not slow" is the fast layer).
REAL_DATA_FIXTURES = {"shared_dir", "search_index"}


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items):
    for item in items:
        if REAL_DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _no_forensic_environment(monkeypatch):
    """A FORENSIC_* variable of the developer's shell must not change what a test sees."""
    for key in list(os.environ):
        if key.startswith("FORENSIC_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"needs the shared footage and models folder {SHARED.resolve()} (not part of the repository)")
    return SHARED


@pytest.fixture(scope="session")
def footage(shared_dir) -> Path:
    folder = shared_dir / "footage"
    if not (folder / TRUCCAT).is_file() or not (folder / ACVIEW).is_file():
        pytest.skip(f"needs real footage in {folder.resolve()} ({ACVIEW}, {TRUCCAT})")
    return folder


@pytest.fixture(scope="session")
def photos(footage) -> Path:
    return footage / "photos"


@pytest.fixture(scope="session")
def models_dir(shared_dir) -> Path:
    folder = shared_dir / "models"
    if not (folder / "yolo11n.pt").is_file():
        pytest.skip(f"needs the YOLO weights {folder.resolve() / 'yolo11n.pt'}")
    return folder


@pytest.fixture
def umask_022():
    """Run with the usual umask: the CLI sets 077 for the whole process, which would hide permission bugs."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory, models_dir):
    from forensic.settings import Settings

    root = tmp_path_factory.mktemp("real") / "idx"
    return Settings.from_env({}, index=root, models=models_dir, imgsz=REAL_IMGSZ, fps=REAL_FPS, settle=0.0, clip="off",
                             device="cpu", batch=4)


@pytest.fixture(scope="session")
def real_models(real_settings):
    """The real detector (and appearance embedder), loaded once."""
    from forensic.models import build_models

    return build_models(real_settings)


@pytest.fixture(scope="session")
def real_index(tmp_path_factory, footage, real_settings, real_models) -> RealIndex:
    """vn_crossroad_acview_day.mp4 (camera folder 'acview') and vn_truccat_crossroad_day.mp4 ('truccat')
    indexed once through the library API at 2 frames per second."""
    return build_real_index(tmp_path_factory.mktemp("footage"), footage, real_settings, real_models)


@pytest.fixture(scope="session")
def stub_index(tmp_path_factory) -> StubIndex:
    """builders.SCENE (a red car and a person in blue and black on 'cam1', a white truck and a green
    motorbike on 'cam2', 3 s each) indexed once through the real pipeline with the stub detector."""
    return build_stub_index(tmp_path_factory.mktemp("stub"))


@pytest.fixture
def stub_detector(monkeypatch) -> StubDetector:
    """The command line's models replaced at the detector seam: forensic.models.build_models (as the CLI
    and forensic.api call it) gives the stub detector of builders.SCENE's objects, no weights loaded."""
    import forensic.api
    import forensic.models

    detector = StubDetector([ob for objects in SCENE.values() for ob in objects])
    for module in (forensic.models, forensic.api):
        monkeypatch.setattr(module, "build_models", lambda settings: stub_models(detector))
    return detector
