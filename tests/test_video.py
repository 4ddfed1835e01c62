"""Finding, probing and sampling real video files."""

from __future__ import annotations

import numpy as np
import pytest

from realdata import TRUCCAT, vfr_clip
from forensic.errors import VideoError
from forensic.video import FrameReader, find_videos, frames_at, probe


@pytest.mark.parametrize("sample_fps", [2.0, 1.0, 5.0])
def test_sampling_follows_the_video_clock(footage, sample_fps):
    info = probe(footage / TRUCCAT)
    assert (info.width, info.height) == (1280, 720) and 6.0 < info.duration < 7.0
    reader = FrameReader(info, sample_fps)
    frames = list(reader)
    assert abs(len(frames) - info.duration * sample_fps) <= 1
    times = np.array([f.t for f in frames])
    assert times[0] == 0.0
    gaps = np.diff(times)
    assert (gaps > 0).all()
    assert np.all(np.abs(gaps - 1.0 / sample_fps) <= 1.0 / info.fps + 1e-9)  # on the clock within one source frame
    for f in frames:
        assert f.image.shape == (720, 1280, 3) and f.image.dtype == np.uint8
        assert f.t == pytest.approx(f.index / info.fps)
    assert not reader.truncated and reader.decoded == info.frames


def test_times_are_presentation_timestamps_on_a_variable_frame_rate_recording(footage, tmp_path):
    """Issue 11: times were frame number / average fps, 1.3 s wrong at frame 80 of this 6 s clip (9 s in
    a 30 s one). Each frame's time is now its PTS, as ffprobe lists it."""
    from forensic.evidence.media import probe_times

    clip = vfr_clip(footage, tmp_path / "vfr.mp4")
    info = probe(clip)
    assert info.frames == 90 and 14.0 < info.fps < 17.0  # the container's average rate
    reader = FrameReader(info, 60.0)  # every frame
    frames = list(reader)
    pts = probe_times(clip).pts
    assert len(frames) == len(pts) == 90 and reader.time_base == "pts" and reader.estimated == 0
    assert np.allclose([f.t for f in frames], pts[[f.index for f in frames]], atol=1e-3)
    assert frames[80].t == pytest.approx(4.0, abs=1e-3) and 80 / info.fps > 5.0
    sampled = np.array([f.t for f in FrameReader(info, 2.0)])  # on the clock: every half second of video time ...
    ticks = np.arange(len(sampled)) * 0.5
    assert len(sampled) == 12 and np.all(sampled > ticks - 0.04) and np.all(sampled < ticks + 0.2)  # ... within a source frame


def test_a_raw_stream_without_timestamps_counts_frames(footage, tmp_path):
    import subprocess

    raw = tmp_path / "raw.h264"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(footage / TRUCCAT), "-t", "1", "-an", "-c:v", "copy",
                    "-bsf:v", "h264_mp4toannexb", str(raw)], check=True)
    info = probe(raw)
    reader = FrameReader(info, 60.0)
    frames = list(reader)
    assert reader.time_base == "frame/fps" and len(frames) > 10
    assert [f.t for f in frames] == pytest.approx([f.index / info.fps for f in frames])


def test_sampling_faster_than_the_video_gives_every_frame_once(footage):
    info = probe(footage / TRUCCAT)
    frames = list(FrameReader(info, 60.0))
    assert [f.index for f in frames] == list(range(info.frames))


def test_a_few_frames_by_seeking(footage):
    """frames_at seeks (the on-screen clock is read this way): each frame is the one asked for or its neighbour."""
    info = probe(footage / TRUCCAT)
    every = {f.index: f.image for f in FrameReader(info, 60.0)}
    got = frames_at(info, [0.5, 3.2, 6.0, 99.0])  # the last is past the end: left out
    assert [f.index for f in got] == [round(t * info.fps) for t in (0.5, 3.2, 6.0)]
    for f in got:
        assert f.t == pytest.approx(f.index / info.fps)
        assert min(np.abs(f.image.astype(int) - every[k]).mean() for k in (f.index - 1, f.index, f.index + 1) if k in every) < 1.0


def test_frames_at_times_are_the_read_frames_timestamps_on_a_variable_frame_rate_recording(footage, tmp_path):
    """Seeking by the average rate lands elsewhere in a variable-frame-rate file (asked 3.2 s, it shows the
    frame of 2.72 s): the time given with each frame is the PTS of the picture returned, so an on-screen
    clock read in it is paired with when that picture was shown, as the indexer times its frames."""
    clip = vfr_clip(footage, tmp_path / "vfr.mp4")
    info = probe(clip)
    every = [(f.t, f.image) for f in FrameReader(info, 60.0)]  # PTS times (test above)
    got = frames_at(info, [0.5, 3.2, 4.0])
    assert len(got) == 3
    for f in got:
        t, _ = min(every, key=lambda e: np.abs(e[1].astype(int) - f.image).mean())  # the frame it is
        assert f.t == pytest.approx(t, abs=1e-3)
    assert abs(got[1].t - got[1].index / info.fps) > 0.3  # frame number / average rate would be this far off


def test_start_time(footage):
    info = probe(footage / TRUCCAT)
    frames = list(FrameReader(info, 2.0, start_t=3.0))
    assert frames[0].t == pytest.approx(3.0, abs=1.0 / info.fps)
    assert abs(len(frames) - (info.duration - 3.0) * 2) <= 1


def test_truncated_file_is_read_up_to_the_cut(footage, tmp_path):
    data = (footage / TRUCCAT).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 5])
    info = probe(cut)  # the header still declares the full length
    reader = FrameReader(info, 2.0)
    frames = list(reader)
    assert 0 < len(frames) < info.duration * 2 - 2
    assert reader.truncated and reader.last_t < 0.9 * info.duration


def test_unreadable_files(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="0 bytes"):
        probe(empty)
    text = tmp_path / "x.mp4"
    text.write_text("not a video\n" * 100)
    with pytest.raises(VideoError, match="x.mp4"):
        probe(text)


def test_find_videos(tmp_path):
    (tmp_path / "cam1" / "sub").mkdir(parents=True)
    for name in ("cam1/b.mp4", "cam1/a.AVI", "cam1/sub/c.mkv", "cam1/notes.txt", "cam1/clip.mp4.part", "d.dav.txt"):
        (tmp_path / name).write_bytes(b"x")
    explicit = tmp_path / "export.bin"  # named explicitly: tried whatever its extension
    explicit.write_bytes(b"x")
    missing = tmp_path / "missing.mp4"
    videos, problems = find_videos([tmp_path / "cam1", explicit, missing, tmp_path / "cam1" / "b.mp4"])
    assert [v.relative_to(tmp_path).as_posix() for v in videos] == ["cam1/a.AVI", "cam1/b.mp4", "cam1/sub/c.mkv", "export.bin"]
    assert len(problems) == 1 and problems[0][0] == missing and str(missing) in problems[0][1]
    assert all(v.is_absolute() for v in videos)


def test_find_videos_keeps_symlink_names(tmp_path, footage):
    (tmp_path / "gate").mkdir()
    link = tmp_path / "gate" / "cam.mp4"
    link.symlink_to(footage / TRUCCAT)
    videos, problems = find_videos([tmp_path])
    assert videos == [link] and problems == []  # the folder of the link names the camera


# --- keyframe-only reading and the decoding thread ----------------------------------------------------
def keyframe_times(path) -> list[float]:
    av = pytest.importorskip("av", reason="keyframe-only reading needs PyAV (pip install av)")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        origin = stream.start_time or 0
        return sorted(float((p.pts - origin) * stream.time_base) for p in container.demux(stream) if p.is_keyframe and p.pts is not None)


def decoded_frame_numbers(path) -> dict[float, int]:
    """Video time -> number of frames decoded before it (the first frame at a time, when several share it)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        out: dict[float, int] = {}
        for n, image in enumerate(container.decode(stream)):
            out.setdefault(round(float(image.pts * stream.time_base), 4), n)
        return out


def test_keyframe_reader_yields_keyframes_only_at_most_the_sampling_rate(footage):
    from realdata import ACVIEW
    from forensic.video import KeyframeReader

    keys = keyframe_times(footage / ACVIEW)  # a keyframe every ~0.37 s in this recording
    info = probe(footage / ACVIEW)
    frames = list(KeyframeReader(info, 2.0))
    times = [f.t for f in frames]
    assert all(min(abs(t - k) for k in keys) < 1e-6 for t in times)  # each one is a keyframe
    ticks = [int(t * 2 + 0.5 / info.fps) for t in times]
    assert times[0] == 0.0 and ticks == sorted(set(ticks))  # thinned to one per tick of the 2 fps clock
    assert abs(len(frames) - info.duration * 2) <= 2
    every = list(KeyframeReader(info, 60.0))
    assert len(every) == len(keys)
    counted = decoded_frame_numbers(footage / ACVIEW)  # this clip stamps its first two frames 0.0 s: t*fps is off by one
    for f in frames:
        assert f.image.shape == (1080, 1920, 3) and f.index == counted[round(f.t, 4)]


def test_keyframe_reader_on_a_file_with_one_keyframe(footage):
    from forensic.video import KeyframeReader

    assert len(keyframe_times(footage / TRUCCAT)) == 1
    frames = list(KeyframeReader(probe(footage / TRUCCAT), 2.0))
    assert [f.t for f in frames] == [0.0]


def test_keyframe_reader_on_garbage(tmp_path):
    pytest.importorskip("av")
    from forensic.video import KeyframeReader, VideoInfo

    text = tmp_path / "x.mp4"
    text.write_text("not a video\n" * 100)
    with pytest.raises(VideoError, match="x.mp4"):
        list(KeyframeReader(VideoInfo(text, 25.0, 100, 640, 480), 2.0))


def test_prefetch_gives_the_same_frames_and_stops_when_closed(footage):
    import threading

    from forensic.video import prefetch

    info = probe(footage / TRUCCAT)
    direct = [(f.index, f.image.sum()) for f in FrameReader(info, 2.0)]
    ahead = prefetch(FrameReader(info, 2.0), depth=2)
    assert [(f.index, f.image.sum()) for f in ahead] == direct
    assert ahead.busy > 0 and next(ahead, None) is None  # stays exhausted
    early = prefetch(FrameReader(info, 30.0), depth=1)
    next(early)
    early.close()
    assert not any(t.name == "forensic-decode" and t.is_alive() for t in threading.enumerate())


def test_prefetch_raises_the_readers_error_in_the_callers_thread(tmp_path):
    from forensic.video import VideoInfo, prefetch

    text = tmp_path / "x.mp4"
    text.write_text("not a video\n" * 100)
    with pytest.raises(VideoError, match="x.mp4"):
        list(prefetch(FrameReader(VideoInfo(text, 25.0, 100, 640, 480), 2.0)))


@pytest.mark.parametrize("sample_fps", [2.0, 5.0, 60.0])
def test_sampling_a_synthetic_clip_follows_its_clock(tmp_path, sample_fps):
    """The fast layer's version of the sampling test: a 3 s, 10 fps clip OpenCV wrote itself."""
    from builders import SCENE, write_video

    info = probe(write_video(tmp_path / "cam" / "a.mp4", SCENE["cam1"], seconds=3.0, fps=10.0))
    assert (info.width, info.height, info.frames) == (320, 240, 30) and info.fps == pytest.approx(10.0)
    frames = list(FrameReader(info, sample_fps))
    step = max(1, round(info.fps / sample_fps))
    assert [f.index for f in frames] == list(range(0, 30, step))
    assert all(f.t == pytest.approx(f.index / info.fps) and f.image.shape == (240, 320, 3) for f in frames)


def test_frame_n_is_the_same_frame_for_the_indexer_and_the_evidence(tmp_path, monkeypatch):
    """One count of frame numbers: read_frames (and show/export without ffmpeg, and with it) gives the
    frame FrameReader gave the indexer under that number."""
    from builders import SCENE, write_video
    from forensic.evidence import frames
    from forensic.video import read_frames

    video = write_video(tmp_path / "cam" / "a.mp4", SCENE["cam1"], seconds=2.0, fps=10.0)
    sampled = {f.index: f.image for f in FrameReader(probe(video), 60.0)}
    wanted = [13, 0, 7, 19]
    for got, n in zip(read_frames(video, wanted), wanted):
        assert np.array_equal(got, sampled[n])
    with pytest.raises(VideoError, match="frame 20 could not be decoded .*ends at frame 20"):
        read_frames(video, [3, 20])
    monkeypatch.setattr(frames, "have_tools", lambda: False)  # no ffmpeg: decoded from the start
    for got, n in zip(frames.FrameSource(video).read(wanted), wanted):
        assert np.array_equal(got, sampled[n])
