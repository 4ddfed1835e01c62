"""Frames read back from the recording are the very frames the indexer saw; `show` draws the box on
that frame with a caption, and `--context` makes a strip around it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from evidencedata import CAMERAS, cli, decode_myself, error_lines, load, mean_diff, no_ffmpeg_path
from forensic.evidence import frames as fr
from realdata import ACVIEW, TRUCCAT

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (CI installs it)")]


@pytest.mark.parametrize("clip, indices", [(ACVIEW, [0, 1, 2, 45, 150]), (TRUCCAT, [0, 1, 60, 190])])
def test_frames_by_number_are_the_decoded_frames(footage, clip, indices):
    """ffmpeg seeks by the container's frame times; the result is pixel-identical to counting frames
    from the start (the indexer's way), and distinct from the neighbours."""
    mine = decode_myself(footage / clip, sorted({j for i in indices for j in (i - 1, i, i + 1) if 0 <= j <= max(indices)}))
    got = fr.FrameSource(footage / clip).read(indices)
    for i, image in zip(indices, got):
        assert mean_diff(image, mine[i]) < 0.05, i
        for j in (i - 1, i + 1):
            if j in mine and mean_diff(mine[j], mine[i]) > 1:
                assert mean_diff(image, mine[j]) > 1, (i, j)


def test_without_ffmpeg_the_same_frames_come_from_opencv(footage, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", no_ffmpeg_path(tmp_path))
    source = fr.FrameSource(footage / TRUCCAT)
    assert source.times is None
    monkeypatch.undo()
    a = source.read([0, 50, 120])
    b = fr.FrameSource(footage / TRUCCAT).read([0, 50, 120])
    assert all(mean_diff(x, y) < 0.05 for x, y in zip(a, b))


def test_the_frame_matches_the_index_thumbnail_and_a_wrong_number_is_found_again(evidence_index, suv_hit):
    hit = load(evidence_index, suv_hit)
    thumb = Path(hit.thumb).read_bytes()
    source = fr.FrameSource(hit.video)
    index, image, diff = fr.locate(source, hit, thumb)
    assert index == hit.frame and diff < fr.THUMB_MATCH
    right = hit.frame
    hit.frame = right + 4  # a reader that numbered frames differently: the time still finds the frame
    index, image, diff = fr.locate(source, hit, thumb)
    assert index == right and diff < fr.THUMB_MATCH


def test_annotated_frame_keeps_the_picture_and_adds_box_and_caption(evidence_index, suv_hit):
    hit = load(evidence_index, suv_hit)
    image = fr.FrameSource(hit.video).read([hit.frame])[0]
    out = fr.annotated_frame(image, hit, fr.Place("truccat", "Ngã tư Trực Cát", "Trực Cát"))
    h, w = image.shape[:2]
    assert out.shape[1] == w and out.shape[0] > h + 40  # a caption bar under the picture
    x1, y1, x2, y2 = (int(round(v)) for v in hit.bbox)
    mask = np.ones((h, w), bool)
    mask[max(0, y1 - 6):y2 + 7, max(0, x1 - 6):x2 + 7] = False
    mask[y1 + 6:y2 - 6, x1 + 6:x2 - 6] = True  # inside the box, away from its lines: untouched too
    assert np.array_equal(out[:h][mask], image[mask])
    assert tuple(out[y1, (x1 + x2) // 2]) == fr.BOX  # the box line, in amber
    assert out[h + 5:].mean() < 80  # a dark bar with light text


def test_excerpt_is_4_by_3_around_the_box(evidence_index, rider_hit):
    hit = load(evidence_index, rider_hit)
    image = fr.FrameSource(hit.video).read([hit.frame])[0]
    piece = fr.excerpt(image, hit.bbox)
    assert piece.shape == (360, 480, 3)
    ys, xs = np.nonzero(np.all(piece == fr.BOX, axis=2))
    assert len(xs) > 200  # the box is drawn ...
    x1, y1, x2, y2 = hit.bbox
    drawn = (xs.max() - xs.min()) / (ys.max() - ys.min())
    assert drawn == pytest.approx((x2 - x1) / (y2 - y1), rel=0.15)  # ... with the object's shape
    assert (xs.max() - xs.min()) * (ys.max() - ys.min()) < 0.5 * 480 * 360  # with surroundings around it


def test_show_writes_the_frame_at_the_hit_time(tmp_path, evidence_index, suv_hit):
    """The shown picture is the frame decoded at the hit's number (compared with my own decoding),
    not its neighbour, with the box drawn where the detector put it."""
    out = tmp_path / "frame.png"
    result = cli("--index", str(evidence_index), "--cameras", str(CAMERAS), "show", str(suv_hit), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    hit = load(evidence_index, suv_hit)
    shown = cv2.imread(str(out))
    mine = decode_myself(Path(hit.video), [hit.frame - 2, hit.frame, hit.frame + 2])
    h, w = mine[hit.frame].shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in hit.bbox)
    mask = np.ones((h, w), bool)
    mask[max(0, y1 - 6):y2 + 7, max(0, x1 - 6):x2 + 7] = False
    assert mean_diff(shown[:h][mask], mine[hit.frame][mask]) < 0.05
    assert mean_diff(shown[:h][mask], mine[hit.frame + 2][mask]) > 0.3 and mean_diff(shown[:h][mask], mine[hit.frame - 2][mask]) > 0.3
    assert tuple(shown[y1, (x1 + x2) // 2]) == fr.BOX
    assert shown.shape[0] > h


def test_show_context_strip(tmp_path, evidence_index, suv_hit):
    out = tmp_path / "strip.jpg"
    result = cli("--index", str(evidence_index), "show", str(suv_hit), "--context", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    strip = cv2.imread(str(out))
    # the SUV at 2.5 s: -2..+2 s is inside the 6.4 s clip, 5 frames: 4 in a row (640 px + border), then 1
    assert strip.shape[1] == 4 * (640 + 8) and 2 * 360 < strip.shape[0] < 3 * 360
    entry = json.loads((evidence_index / "audit.jsonl").read_text().splitlines()[-1])
    assert entry["command"] == "show" and entry["query"]["context"] == 2.0 and entry["exported"][0]["path"] == str(out.resolve())


def test_show_unknown_hit_and_bad_out(tmp_path, evidence_index):
    result = cli("--index", str(evidence_index), "show", "999999999", "--out", str(tmp_path / "x.jpg"))
    assert result.exit_code == 2 and len(error_lines(result)) == 1 and "no hit with id 999999999" in result.stderr
    result = cli("--index", str(evidence_index), "show", "1", "--out", str(tmp_path / "x.gif"))
    assert result.exit_code == 2 and ".jpg, .png or .webp" in result.stderr and result.stderr.count("\n") == 1
