"""ffmpeg/ffprobe: found on PATH with a clear error naming the package, run on local files only,
and the container's frame times agree with the frames a decoder counts."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from evidencedata import no_ffmpeg_path
from forensic.evidence.media import MediaError, ToolMissing, file_url, find_tool, probe_times, run_tool
from realdata import ACVIEW, TRUCCAT

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffmpeg is not installed (CI installs it)")


def test_missing_ffmpeg_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", no_ffmpeg_path(tmp_path))
    with pytest.raises(ToolMissing) as e:
        find_tool("ffmpeg")
    text = str(e.value)
    assert "\n" not in text and text.startswith("ffmpeg not found on PATH") and "'ffmpeg' package" in text and "apt install ffmpeg" in text


def test_found_on_path():
    assert find_tool("ffprobe").endswith("/ffprobe")


def test_file_url_never_reads_as_an_option_or_protocol(tmp_path, footage):
    """A file named like an option and a protocol is still just a local file."""
    odd = tmp_path / "-i http:evil.mp4"
    odd.symlink_to((footage / TRUCCAT).resolve())
    assert file_url(odd) == f"file:{odd}"
    assert len(probe_times(odd).pts) == len(probe_times(footage / TRUCCAT).pts)


def test_a_failure_is_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n" * 20)
    with pytest.raises(MediaError) as e:
        run_tool("ffprobe", ["-v", "error", "-show_streams", file_url(bad)], str(bad))
    assert "\n" not in str(e.value) and str(bad) in str(e.value)


@pytest.mark.parametrize("clip", [ACVIEW, TRUCCAT])
def test_frame_times_match_the_decoded_frames(footage, clip):
    """One time per frame the decoder gives (the indexer counts frames the same way), in order;
    keyframes among them. (ACVIEW's recorder stamped its first two frames both 0.000 s.)"""
    import cv2

    times = probe_times(footage / clip)
    cap = cv2.VideoCapture(str(footage / clip), cv2.CAP_FFMPEG)
    decoded = 0
    while cap.grab():
        decoded += 1
    cap.release()
    assert len(times.pts) == decoded
    assert np.all(np.diff(times.pts) >= 0) and np.sum(np.diff(times.pts) == 0) <= 1 and times.pts[0] == pytest.approx(0, abs=1e-3)
    assert set(np.round(times.keyframes, 6)) <= set(np.round(times.pts, 6)) and times.keyframes[0] == pytest.approx(0, abs=1e-3)
    assert times.duration == pytest.approx({ACVIEW: 10.4, TRUCCAT: 6.4}[clip], abs=0.1)  # the lengths the footage README lists
    for i in (0, 1, 7, decoded - 1):
        at, skip = times.seek_point(i)
        assert times.time_of(i - 1 if i else 0) <= at <= times.time_of(i)
        assert times.index_at(times.time_of(i)) == i + (1 if clip == ACVIEW and i == 0 else 0)  # the last frame shown at that time
        assert skip == (1 if clip == ACVIEW and i == 1 else 0)


def test_acview_has_frequent_keyframes_truccat_one(footage):
    """What the export tests rely on (a stream copy can only start at a keyframe)."""
    assert len(probe_times(footage / ACVIEW).keyframes) > 20
    assert len(probe_times(footage / TRUCCAT).keyframes) == 1
