"""Evidence tests work on a copy of the session's real index (so their audit entries and exports
never touch the shared one) and on hits of the described objects, found by where they are; or, in the
fast layer, on a copy of the synthetic index of the stub detector (tests/builders.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evidencedata import find_detection
from realdata import DELIVERY_RIDER, WHITE_SUV


@pytest.fixture(scope="session")
def evidence_index(real_index, tmp_path_factory) -> Path:
    """A private copy of the real index (rows, vectors, thumbnails; videos stay where they are)."""
    root = tmp_path_factory.mktemp("evidence") / "idx"
    shutil.copytree(real_index.root, root, ignore=shutil.ignore_patterns("write.lock"))  # its audit log too: the database records its length
    return root


@pytest.fixture(scope="session")
def suv_hit(evidence_index) -> int:
    """The white SUV crossing the Truc Cat crossroad (one keyframe only in that file), mid-way."""
    return find_detection(evidence_index, WHITE_SUV, 2.5)


@pytest.fixture(scope="session")
def rider_hit(evidence_index) -> int:
    """The delivery rider riding away at the ACVIEW crossroad (a keyframe every 0.37 s)."""
    return find_detection(evidence_index, DELIVERY_RIDER, 2.5)


@pytest.fixture(scope="session")
def stub_evidence_index(stub_index, tmp_path_factory) -> Path:
    """A private copy of the synthetic index (its videos are real files: frames can be shown and exported)."""
    root = tmp_path_factory.mktemp("stub-evidence") / "idx"
    shutil.copytree(stub_index.root, root, ignore=shutil.ignore_patterns("write.lock", "audit.*"))
    return root


@pytest.fixture(scope="session")
def car_hit(stub_evidence_index) -> int:
    """The red car crossing camera 'cam1' of the synthetic index, mid-way (1.4 s)."""
    from forensic.index.store import IndexStore

    with IndexStore(stub_evidence_index) as store:
        cols = store.columns()
        cars = [(abs(float(t) - 1.4), int(i)) for i, t, c in zip(cols.id, cols.t, cols.cls) if cols.classes[c] == "car"]
    assert cars
    return min(cars)[1]
