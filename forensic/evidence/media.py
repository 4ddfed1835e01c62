"""ffmpeg and ffprobe: found on PATH, run with argument lists (never a shell), local files only.

Frame times come from the container (every video packet's presentation time), so "frame N" means
the N-th frame a decoder outputs, as the indexer counted it, even when the recording's frame rate
wanders (many DVR files are not exactly constant-rate).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

# finding and running the tools lives in forensic.tools (a primitive: forensic.timestamps uses it too);
# the names stay importable from here
from forensic.tools import (  # noqa: F401
    INSTALL_HINT, LOCAL_ONLY, MediaError, ToolMissing, file_url, find_tool, have_tools, run_tool, stop_all)

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    out = run_tool("ffmpeg", ["-hide_banner", "-version"], "its version").stdout.decode("utf-8", "replace")
    return out.splitlines()[0].strip() if out else "unknown"


def ffmpeg_release() -> tuple[int, int]:
    m = re.search(r"version n?(\d+)\.(\d+)", ffmpeg_version())
    return (int(m.group(1)), int(m.group(2))) if m else (99, 0)  # git builds: assume a recent one


@dataclass(frozen=True)
class MediaTimes:
    """The video stream of one file: every frame's presentation time, relative to the stream start."""

    path: Path
    start: float  # the file's start time (seconds): ffmpeg's -ss and our relative times count from it
    pts: np.ndarray  # presentation time of frame 0, 1, 2, ... relative to `start`, ascending
    keyframes: np.ndarray  # relative times of keyframes, ascending
    width: int
    height: int
    codec: str
    audio: list  # codec names of the audio streams

    @property
    def frame_duration(self) -> float:
        return float(np.median(np.diff(self.pts))) if len(self.pts) > 1 else 1 / 25

    @property
    def duration(self) -> float:
        return float(self.pts[-1] + self.frame_duration) if len(self.pts) else 0.0

    @property
    def span(self) -> float:
        """Seconds from the first frame to the end of the last (the video's own length in a clip)."""
        return float(self.pts[-1] - self.pts[0] + self.frame_duration) if len(self.pts) else 0.0

    def time_of(self, index: int) -> float:
        if not 0 <= index < len(self.pts):
            raise MediaError(f"{self.path}: frame {index} is past the end ({len(self.pts)} frames)")
        return float(self.pts[index])

    def index_at(self, t: float) -> int:
        """The frame shown at relative time t (the last frame starting at or before t)."""
        return int(np.clip(np.searchsorted(self.pts, t + 1e-6, side="right") - 1, 0, len(self.pts) - 1))

    def seek_point(self, index: int) -> tuple[float, int]:
        """(time, skip): ffmpeg's accurate input seek to `time` outputs frame `index` after `skip` others.

        The time is half-way from the previous distinct time, so rounding can neither fall short nor
        skip the frame; `skip` counts earlier frames stamped with the very same time (some recorders
        write two frames at 0.000 s).
        """
        t = self.time_of(index)
        first = int(np.searchsorted(self.pts, t, side="left"))
        return (0.0 if first == 0 else (float(self.pts[first - 1]) + t) / 2), index - first


def probe_times(path: Path) -> MediaTimes | None:
    """Frame times of the first video stream, or None when the container gives no usable times
    (raw elementary streams): callers then decode from the start."""
    st = Path(path).stat()
    return _probe_times(os.path.abspath(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=32)
def _probe_times(path: str, size: int, mtime_ns: int) -> MediaTimes | None:
    out = run_tool("ffprobe", ["-v", "error", *LOCAL_ONLY, "-show_entries",
                               "format=start_time:stream=index,codec_type,codec_name,width,height,start_time:packet=stream_index,pts_time,flags",
                               "-of", "json", file_url(path)], path).stdout
    data = json.loads(out or b"{}")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None:
        raise MediaError(f"{path}: no video stream")
    audio = [s.get("codec_name", "?") for s in streams if s.get("codec_type") == "audio"]
    start = _float(video.get("start_time"))
    times, keys = [], []
    for p in data.get("packets", []):
        if p.get("stream_index") != video["index"]:
            continue
        t = _float(p.get("pts_time"))
        flags = p.get("flags", "")
        if t is None:
            return None
        if "D" in flags or (start is not None and t < start - 1e-6):
            continue  # discarded by the container's edit list: a decoder never outputs it
        times.append(t)
        if "K" in flags:
            keys.append(t)
    if not times:
        return None
    base = _float(data.get("format", {}).get("start_time"))
    base = base if base is not None else start if start is not None else min(times)
    pts = np.sort(np.asarray(times, np.float64)) - base
    return MediaTimes(Path(path), base, pts, np.sort(np.asarray(keys, np.float64)) - base,
                      int(video.get("width") or 0), int(video.get("height") or 0), video.get("codec_name", "?"), audio)


def _float(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None
