"""Evidence tests work on a copy of the session's real index (so their audit entries and exports
never touch the shared one) and on hits of the described objects, found by where they are."""

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
