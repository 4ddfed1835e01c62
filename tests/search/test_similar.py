"""`similar`: a hit's appearance as the query returns the same object first, then look-alikes."""

import pytest

from forensic.errors import ForensicError
from forensic.search.similar import search_similar

pytestmark = pytest.mark.slow


def test_same_object_first_then_lookalikes(search_index):
    store = search_index["store"]
    row = store.db.execute(
        "SELECT d.id, d.track FROM detections d JOIN tracks t ON t.id=d.track JOIN videos v ON v.id=d.video_id "
        "WHERE v.path LIKE '%vn_truccat%' AND d.cls='car' ORDER BY t.n DESC LIMIT 1").fetchone()
    source, hits = search_similar(store, row["id"], limit=5, cameras=search_index["cameras"])
    assert hits[0].track["id"] == row["track"] and hits[0].score > 0.9
    assert len(hits) == 5 and all(h.cls == "car" for h in hits)
    assert len({h.track["id"] for h in hits}) == 5
    assert hits[0].score >= hits[1].score >= hits[-1].score


def test_unknown_hit(search_index):
    with pytest.raises(ForensicError, match="no hit with id"):
        search_similar(search_index["store"], 10**9)
