"""bench/colours.py: the names given by eye (bench/peta_by_eye.csv) are palette terms for distinct crops,
and `by_eye` scores them, the code's names and the baseline alike (any of a person's labels counts)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import colours  # noqa: E402

from forensic.query.vocabulary import PALETTE  # noqa: E402

BY_EYE = Path(colours.__file__).with_name("peta_by_eye.csv")


def test_names_by_eye_are_palette_terms_of_distinct_crops():
    rows = list(csv.DictReader(open(BY_EYE, encoding="utf-8")))
    assert len(rows) == 80 and len({r["image"] for r in rows}) == 80
    for r in rows:
        assert r["image"].startswith("images/") and r["upper"] in PALETTE and r["lower"] in PALETTE, r


def test_by_eye_scores_eye_code_and_baseline_on_the_same_crops(tmp_path):
    rows = [{"image": f"images/x/{i}.jpg", "subset": "x", "upper_colours": up, "lower_colours": lo}
            for i, (up, lo) in enumerate([("black;red", "blue"), ("black", "black"), ("grey", "black"), ("white", "")])]
    named = [{"upper": "red", "lower": "black"}, {"upper": "black", "lower": "black"},
             {"upper": "black", "lower": "black"}, {"upper": "white", "lower": "none"}]
    eye = tmp_path / "eye.csv"
    eye.write_text("image,upper,lower\nimages/x/0.jpg,black,blue\nimages/x/2.jpg,grey,grey\nimages/x/3.jpg,grey,black\n",
                   encoding="utf-8")
    got = colours.by_eye(rows, named, eye)
    # crops 0, 2, 3 only; crop 3 has no bottom label
    assert got["upper"] == {"n": 3, "eye": round(2 / 3, 3), "code": round(2 / 3, 3), "baseline": round(1 / 3, 3)}
    assert got["lower"] == {"n": 2, "eye": 0.5, "code": 0.5, "baseline": 0.5}
