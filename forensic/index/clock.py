"""A recording's start by the recorder's on-screen clock, for cameras whose cameras-file entry says where the
clock is (`osd`): a few frames are sought (not the whole file decoded), the clock is read in each
(forensic.models.clock), checked to advance with the video (forensic.osd.check_advance), and weighed against
the file's own time (forensic.timestamps.choose_start). Runs once per recording, before its frames are
indexed; what was read is stored with the video (the `clock` column) so `forensic cameras` can show it."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from pathlib import Path

from forensic.cameras import Camera
from forensic.osd import ClockCheck, OsdSpec, check_advance, settle_order
from forensic.printable import printable
from forensic.timestamps import choose_start
from forensic.video import VideoInfo, frames_at

log = logging.getLogger(__name__)

SHORT_FRAMES = 3  # frames read in a recording shorter than LONG seconds
LONG_FRAMES = 5
LONG = 120.0  # seconds
EDGE = 1.0  # seconds kept away from each end (a first frame may be grey, a last one cut)


def sample_times(duration: float) -> list[float]:
    """When to read the clock: 3 moments spread over a short recording, 5 over one of two minutes or more
    (the first and last then more than a minute apart, so a clock without seconds is seen to advance)."""
    if duration <= 0:
        return [0.0]
    n = LONG_FRAMES if duration >= LONG else SHORT_FRAMES
    edge = min(EDGE, duration * 0.05)
    first, last = edge, max(edge, duration - edge)
    return [round(first + (last - first) * k / (n - 1), 3) for k in range(n)]


def read_clock(info: VideoInfo, camera: Camera, reader, file_start: datetime) -> tuple[ClockCheck, OsdSpec | None]:
    """The clock's readings in a few frames of the video, checked (its start still without the camera's
    offset), and where it was read: the camera's `osd`, or, for "auto", where it was found (in the first
    frame that shows one of the first two; None when neither does), its day/month order settled by the
    file's time where the text could say either (forensic.osd.settle_order)."""
    frames = frames_at(info, sample_times(info.duration))
    spec = camera.osd
    if spec.auto:
        found = next((f for f in (reader.find(frame.image, camera.timezone) for frame in frames[:2]) if f), None)
        if found is None:
            return ClockCheck("unreadable", frames=len(frames), reason="no date-time found in the top or bottom of the picture"), None
        (spec, text), offset = found, timedelta(seconds=camera.clock_offset)
        fmt, why = settle_order(text, spec.format, camera.timezone, file_start - offset)
        if fmt is None:
            return ClockCheck("ambiguous", frames=len(frames), reason=why), spec
        spec = OsdSpec(spec.region, fmt)
    readings = reader.read([(f.t, f.image) for f in frames], spec, camera.timezone)
    return check_advance(readings, spec.format.resolution), spec


def recording_clock(path: Path, info: VideoInfo, camera: Camera, reader, file_start: datetime,
                    file_source: str) -> tuple[datetime, str, dict | None]:
    """(start, source, what the clock said) for a recording whose file gives `file_start` (camera offset
    applied) from `file_source`. Without `osd` for the camera: the file's time and None. `reader`: a
    forensic.models.clock.ClockReader, or None when the text reader is not installed. When the clock is
    used (source 'osd'), what it said holds `recorded_start`: the local time it showed at the recording's
    start, before the camera's offset (the index keeps it, as it keeps a file name's time)."""
    if camera.osd is None:
        return file_start, file_source, None
    began = time.perf_counter()
    spec = None if camera.osd.auto else camera.osd
    if reader is None:
        check = ClockCheck("unavailable", reason="the text reader is not installed (pip install 'forensic[plates]')")
    else:
        try:
            check, spec = read_clock(info, camera, reader, file_start)
        except Exception as e:  # noqa: BLE001 - the clock is a second opinion: a failure to read it never fails the video
            log.debug("reading the clock of %s failed", path, exc_info=True)
            check = ClockCheck("unreadable", reason=f"{type(e).__name__}: {e}")
    record = {"osd": "auto" if camera.osd.auto else "set", "format": spec.format.text if spec else None,
              "region": [round(v, 4) for v in spec.region] if spec else None, "time_source": camera.time_source,
              "file_start": file_start.isoformat(), "file_source": file_source}
    clock_start = check.start + timedelta(seconds=camera.clock_offset) if check.status == "reliable" else None
    start, source, disagreement = choose_start(file_start, file_source, clock_start, camera.time_source)
    record.update(check.to_dict())
    # what the clock showed at the start (its local time, before the camera's offset), kept as the recorded start
    # when it is used: the timezone and offset of the cameras file apply to it when read (forensic.timestamps)
    recorded = check.start.replace(tzinfo=None).isoformat(timespec="milliseconds") if clock_start else None
    record.update(start=clock_start.isoformat(timespec="milliseconds") if clock_start else None, recorded_start=recorded,
                  disagreement=disagreement, used=source == "osd", seconds=round(time.perf_counter() - began, 3))
    if clock_start is None:
        log.warning("%s: on-screen clock not used (%s): %s; start from the %s", printable(path.name), check.status,
                    printable(check.reason), file_source)
    elif source == "osd":
        log.info("%s: start %s from the on-screen clock (the %s says %s, %+.0f s)", printable(path.name), clock_start.isoformat(),
                 file_source, file_start.isoformat(), -disagreement)
    return start, source, record
