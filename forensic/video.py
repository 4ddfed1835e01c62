"""Read recorded video: find files, probe them, and stream frames sampled on a clock.

Frames are yielded one at a time (never a whole video in memory); frames between samples
are only grabbed, not retrieved, so they are decoded but never converted or copied. A frame's number
is its place among the frames decoded from the start of the file (`_numbered`): the indexer stores it,
and `read_frames` reads frame N back by it (forensic.evidence.frames seeks there with ffmpeg instead
when the container's frame times are at hand).
`KeyframeReader` decodes keyframes only (a fast mode for long-GOP recordings), and `prefetch`
runs a reader in its own thread so decoding overlaps with detection.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from forensic.errors import VideoError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mkv", ".mov", ".ts", ".m4v", ".mts", ".m2ts", ".mpg", ".mpeg", ".wmv", ".flv", ".webm", ".3gp", ".h264", ".h265", ".hevc", ".dav"}  # .dav: Dahua exports


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    fps: float
    frames: int  # as declared by the container; may be wrong for truncated files
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps if self.fps > 0 else 0.0


@dataclass(frozen=True)
class Frame:
    index: int  # frame number in the source video
    t: float  # seconds from the start of the video: the frame's presentation timestamp (PTS)
    image: np.ndarray  # BGR, source resolution


def find_videos(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and folders (recursively) into video files; return (videos, problems).

    A file named explicitly is always tried, whatever its extension; inside folders only known
    video extensions are taken, so a folder full of other files costs one directory walk.
    """
    videos: list[Path] = []
    problems: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        p = Path(os.path.abspath(p))  # keep symlink names: the folder names the camera
        if p not in seen:
            seen.add(p)
            videos.append(p)

    for path in paths:
        path = Path(path)
        if not path.exists():
            problems.append((path, f"{path}: no such file or folder"))
        elif path.is_dir():
            for root, dirs, files in os.walk(path, onerror=lambda e: problems.append((Path(e.filename or path), f"cannot list folder: {e.strerror}"))):
                dirs.sort()
                for name in sorted(files):
                    if Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                        add(Path(root) / name)
        else:
            add(path)
    return videos, problems


def _open(path: Path):
    import cv2

    if not os.access(path, os.R_OK):
        raise VideoError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: empty file (0 bytes)")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise VideoError(f"{path}: not a readable video (no decodable video stream)")
    return cap


def probe(path: Path) -> VideoInfo:
    """Read fps, frame count and size without decoding the video."""
    import cv2

    cap = _open(path)
    try:
        fps = cap.get(cv2.CAP_PROP_FPS)
        info = VideoInfo(
            path=path,
            fps=fps if 0 < fps < 1000 else 25.0,
            frames=max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0),
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
    finally:
        cap.release()
    if info.width <= 0 or info.height <= 0:
        raise VideoError(f"{path}: no video stream")
    return info


def _numbered(cap) -> Iterator[int]:
    """Grab the frames of an opened capture one by one from the start, yielding each one's number: how
    every frame number of forensic is counted (the caller retrieves the frames it wants)."""
    index = 0
    while cap.grab():
        yield index
        index += 1


def read_frames(path: Path, indices: list[int]) -> list[np.ndarray]:
    """Frames by number (BGR, source resolution), in the order asked, decoded from the start of the file
    and counted as the indexer's FrameReader counts them."""
    wanted = set(indices)
    if not wanted:
        return []
    got: dict[int, np.ndarray] = {}
    cap = _open(Path(path))
    last = -1
    try:
        for index in _numbered(cap):
            last = index
            if index in wanted:
                ok, image = cap.retrieve()
                if ok and image is not None:
                    got[index] = image
            if index >= max(wanted):
                break
    finally:
        cap.release()
    missing = sorted(wanted - set(got))
    if missing:
        raise VideoError(f"{path}: frame {missing[0]} could not be decoded (the file ends at frame {last + 1})")
    return [got[i] for i in indices]


class FrameReader:
    """Streams frames sampled every 1/sample_fps seconds of video time.

    A frame's time is its presentation timestamp (PTS) as the decoder reports it, never its number
    divided by the average frame rate: a variable-frame-rate recording (most DVRs drop frames when
    the scene is still) would otherwise get times seconds off. A frame without a usable timestamp (a
    raw H.264/H.265 stream has none) gets the previous frame's time plus one frame at the declared
    rate, and `estimated` counts those frames (see `time_base`).

    After iteration, `decoded` holds how many frames were read and `truncated` says whether the
    file ended well before its declared length (a broken or partly written recording).
    """

    def __init__(self, info: VideoInfo, sample_fps: float, start_t: float = 0.0):
        self.info = info
        self.sample_fps = sample_fps
        self.start_t = start_t
        self.decoded = 0
        self.estimated = 0  # frames after the first whose time is not their PTS (none, or not after the previous one)
        self.last_t = 0.0

    @property
    def time_base(self) -> str:
        """Where the frame times came from: 'pts', 'frame/fps' (no timestamps at all) or 'pts+estimated'."""
        if self.estimated == 0:
            return "pts"
        return "frame/fps" if self.estimated >= self.decoded - 1 else "pts+estimated"

    @property
    def truncated(self) -> bool:
        return self.info.frames > 0 and self.decoded < 0.9 * self.info.frames - 2

    def __iter__(self) -> Iterator[Frame]:
        import cv2

        cap = _open(self.info.path)
        fps = self.info.fps
        step = 1.0 / self.sample_fps
        next_t = self.start_t
        try:
            for index in _numbered(cap):
                pts = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0  # the grabbed frame's PTS, from the stream's start
                if index == 0:
                    t = pts if math.isfinite(pts) and pts >= 0 else 0.0
                elif math.isfinite(pts) and pts > self.last_t:
                    t = pts
                else:
                    t = self.last_t + 1.0 / fps
                    self.estimated += 1
                self.decoded = index + 1
                self.last_t = t
                if t + 0.5 / fps >= next_t:
                    ok, image = cap.retrieve()
                    if ok and image is not None:
                        yield Frame(index=index, t=t, image=image)
                    while next_t <= t + 0.5 / fps:  # one sample per clock tick, even when fps < sample_fps
                        next_t += step
        finally:
            cap.release()
        if self.decoded == 0:
            raise VideoError(f"{self.info.path}: no frame could be decoded (corrupt or unsupported codec)")


class KeyframeReader(FrameReader):
    """Streams keyframes only (no other frame is decoded), at most `sample_fps` of them per second.

    For recordings with a keyframe every 1-2 s this reads several times faster than decoding every
    frame; objects seen between keyframes only are missed. Frame numbers count the packets before
    each keyframe, as a decoder reading every frame would number it. Needs PyAV (`pip install av`).
    """

    @property
    def truncated(self) -> bool:
        return self.info.duration > 0 and self.last_t < 0.9 * self.info.duration - 2.0

    def __iter__(self) -> Iterator[Frame]:
        try:
            import av
        except ImportError:
            raise VideoError("keyframe-only reading needs PyAV: pip install av") from None
        try:
            container = av.open(str(self.info.path))
        except (av.FFmpegError, OSError) as e:
            raise VideoError(f"{self.info.path}: not a readable video ({e})") from None
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.codec_context.skip_frame = "NONKEY"
            origin = stream.start_time if stream.start_time is not None else 0
            position: dict[int, int] = {}  # keyframe pts -> frames before it (its frame number)
            next_t = self.start_t
            packets = 0
            try:
                for packet in container.demux(stream):  # only keyframes go to the decoder
                    if packet.size and not packet.is_keyframe:
                        packets += 1
                        continue
                    if packet.size:
                        if packet.pts is not None:
                            position[packet.pts] = packets
                        packets += 1
                    for image in packet.decode():
                        if image.pts is None:
                            continue
                        t = max(0.0, float((image.pts - origin) * stream.time_base))
                        self.decoded += 1
                        self.last_t = t
                        if t + 0.5 / self.info.fps < next_t:
                            continue
                        while next_t <= t + 0.5 / self.info.fps:
                            next_t += 1.0 / self.sample_fps
                        index = position.pop(image.pts, int(round(t * self.info.fps)))
                        yield Frame(index=index, t=t, image=image.to_ndarray(format="bgr24"))
            except av.FFmpegError as e:  # corrupt data: keep what was read, like FrameReader
                log.warning("%s: decoding stopped at %.1f s: %s", self.info.path, self.last_t, e)
        finally:
            container.close()
        if self.decoded == 0:
            raise VideoError(f"{self.info.path}: no keyframe could be decoded (corrupt or unsupported codec)")


def frames_at(info: VideoInfo, times: list[float]) -> list[Frame]:
    """A few frames by seeking (not decoding the whole file): the frame at or just after each time, in
    the order asked. A time the container cannot seek to, or whose frame cannot be decoded, is left out.
    Seeking lands on the asked frame or one beside it (OpenCV seeks by the container's frame times); in a
    variable-frame-rate recording it may land seconds away. A frame's `t` is therefore the presentation
    timestamp of the frame actually read (as FrameReader times frames: the on-screen clock read in it is
    paired with that time), its `index` the frame number asked for (approximate where the rate varies)."""
    import cv2

    cap = _open(info.path)
    out = []
    try:
        for t in times:
            index = max(0, int(round(t * info.fps)))
            if info.frames and index >= info.frames:
                continue
            if not cap.set(cv2.CAP_PROP_POS_FRAMES, index):
                continue
            ok, image = cap.read()
            if ok and image is not None:
                pts = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0  # the read frame's PTS (0 where the stream has none)
                at = pts if math.isfinite(pts) and (pts > 0 or index == 0) else index / info.fps
                out.append(Frame(index=index, t=at, image=image))
    finally:
        cap.release()
    return out


def open_reader(info: VideoInfo, sample_fps: float, keyframes: bool = False):
    """The reader for a video: every frame on the sampling clock, or keyframes only."""
    return KeyframeReader(info, sample_fps) if keyframes else FrameReader(info, sample_fps)


class prefetch:
    """Iterate `frames` in a background thread, `depth` frames ahead, so decoding overlaps with the
    caller's work (OpenCV, PyAV and the detectors release the GIL while they compute).

    `busy` is the seconds the thread spent reading; errors are raised in the caller's thread.
    Closing (or dropping) the iterator stops the thread.
    """

    _END = object()

    def __init__(self, frames, depth: int = 4):
        self._source = frames
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self.busy = 0.0
        self._thread = threading.Thread(target=self._run, name="forensic-decode", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        it = iter(self._source)
        try:
            while not self._stop.is_set():
                start = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    break
                finally:
                    self.busy += time.perf_counter() - start
                if not self._put(item):
                    return
            self._put(self._END)
        except BaseException as e:  # handed to the consumer
            self._put(e)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    def __iter__(self):
        return self

    def __next__(self) -> Frame:
        item = self._queue.get()
        if item is self._END:
            self._queue.put(self._END)  # stay exhausted
            raise StopIteration
        if isinstance(item, BaseException):
            self._queue.put(self._END)
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def __del__(self):
        self._stop.set()
