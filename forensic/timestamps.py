"""When a recording started, in wall-clock time.

In order: the camera's own file-name pattern (cameras file `time_pattern`), the file names of common
DVR/NVR exports (Hikvision, Dahua, generic YYYYMMDD_HHMMSS and YYYY-MM-DD_HH-MM-SS), the container's
creation time (read with ffprobe when it is installed), else the file's modification time (the end
of the recording) minus its duration. Names carry the recorder's local time: the camera's timezone
(default Vietnam) applies; a container's creation time is read as UTC, as MP4/MOV define it (a
recorder that writes its local time there needs the camera's clock_offset).

The index keeps the start as the recording gave it (`recorded_start`: the local time a file name
holds, with no zone; the instant a container or file time gives) and the wall-clock time is made from
it when it is read (`wall_clock`), with the camera's timezone and clock offset of the cameras file of
that moment: correcting the cameras file corrects the times. A name's local time that a daylight-saving
change skipped ('gap') or that happened twice ('overlap') is flagged, never resolved silently.

A camera whose recorder burns its clock into the picture (cameras file `osd`) has one more source:
that clock, read at indexing (forensic.index.clock) and chosen over the file's time as `choose_start`
says. Its start is kept the same way, as the local time the clock showed (source 'osd'), and the
camera's timezone and clock offset of now apply to it when it is read, as to a file name's time.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from forensic.errors import ForensicError
from forensic.query.vocabulary import DEFAULT_TZ
from forensic.tools import LOCAL_ONLY, file_url, run_tool

log = logging.getLogger(__name__)

# 2026-11-21 08:30:15 written as 20261121083015, 20261121_083015, 2026-11-21_08-30-15,
# 2026-11-21.08.30.15 (Dahua), 2026-11-21 08.30.15, 2026-11-21T08:30:15 ...
_STAMP = re.compile(r"(?<!\d)(20\d\d)([-_.]?)(\d\d)\2(\d\d)[-_.T ]?(\d\d)([-_.:h]?)(\d\d)\6(\d\d)(?!\d)")

# Directives a camera's time_pattern may use (strftime's names), and the digits each one matches.
_DIRECTIVES = {"Y": r"\d{4}", "y": r"\d{2}", "m": r"\d{1,2}", "d": r"\d{1,2}", "H": r"\d{1,2}", "M": r"\d{2}", "S": r"\d{2}"}
FFPROBE_TIMEOUT = 15.0  # seconds


class PatternError(ValueError):
    pass


def compile_pattern(pattern: str) -> re.Pattern:
    """A camera's file-name time pattern, strftime style ("CAM01_%Y%m%d_%H%M%S", "%d-%m-%Y/%Hh%M"),
    as a regular expression searched in the file name (in the whole path when the pattern holds a
    '/'). `*` stands for any text; every other character is literal. It must name the year, month,
    day, hour and minute; seconds are optional."""
    out, i, seen = [], 0, set()
    while i < len(pattern):
        c = pattern[i]
        if c == "%":
            if i + 1 >= len(pattern):
                raise PatternError(f"time pattern {pattern!r} ends with a lone '%'")
            d = pattern[i + 1]
            if d == "%":
                out.append("%")
            elif d in _DIRECTIVES:
                if d in seen:
                    raise PatternError(f"time pattern {pattern!r} uses %{d} twice")
                seen.add(d)
                out.append(f"(?P<{d}>{_DIRECTIVES[d]})")
            else:
                raise PatternError(f"time pattern {pattern!r}: %{d} is not supported (use %Y %y %m %d %H %M %S)")
            i += 2
            continue
        out.append(".*?" if c == "*" else re.escape(c))
        i += 1
    missing = [d for d in ("m", "d", "H", "M") if d not in seen] + ([] if seen & {"Y", "y"} else ["Y"])
    if missing:
        raise PatternError(f"time pattern {pattern!r} lacks {', '.join('%' + d for d in missing)} "
                           "(year, month, day, hour and minute are needed)")
    body = "".join(out)
    if pattern.startswith("%") and pattern[1:2] != "%":
        body = r"(?<!\d)" + body  # digits of a directive never start inside a longer number ...
    if re.search(r"(?<!%)%[YymdHMS]$", pattern):
        body += r"(?!\d)"  # ... nor end inside one
    return re.compile(body)


def from_pattern(path: Path | str, pattern: str, tz: str = DEFAULT_TZ) -> datetime | None:
    """The time a camera's own pattern finds in the file name (or path), or None."""
    regex = compile_pattern(unicodedata.normalize("NFC", pattern))
    text = unicodedata.normalize("NFC", Path(path).as_posix() if "/" in pattern else Path(path).name)
    for m in regex.finditer(text):
        g = m.groupdict()
        year = int(g["Y"]) if g.get("Y") else 2000 + int(g["y"])
        try:
            return datetime(year, int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]), int(g.get("S") or 0), tzinfo=ZoneInfo(tz))
        except ValueError:
            continue
    return None


def from_filename(name: str, tz: str = DEFAULT_TZ) -> datetime | None:
    """The first valid date-time in a file name (the start, when a name holds start and end)."""
    for m in _STAMP.finditer(name):
        y, mo, d, h, mi, s = (int(m.group(i)) for i in (1, 3, 4, 5, 7, 8))
        try:
            return datetime(y, mo, d, h, mi, s, tzinfo=ZoneInfo(tz))
        except ValueError:
            continue
    return None


def from_container(path: Path | str, tz: str = DEFAULT_TZ) -> datetime | None:
    """The container's creation time (format, else first stream tag), in `tz`; None when ffprobe is
    missing, fails, or the file carries none (or an unset one: before 2000)."""
    try:
        out = run_tool("ffprobe", ["-v", "error", *LOCAL_ONLY, "-print_format", "json", "-show_entries",
                                   "format_tags=creation_time:stream_tags=creation_time", file_url(path)],
                       str(path), timeout=FFPROBE_TIMEOUT)
        data = json.loads(out.stdout or b"{}")
    except (ForensicError, OSError, ValueError) as e:  # no ffprobe, or it cannot read the file: use the file time
        log.debug("no container time for %s: %s", path, e)
        return None
    tags = [data.get("format", {}).get("tags", {})] + [s.get("tags", {}) for s in data.get("streams", [])]
    for t in tags:
        text = {k.lower(): v for k, v in (t or {}).items()}.get("creation_time")
        if not text:
            continue
        try:
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        if when.year >= 2000:
            return when.astimezone(ZoneInfo(tz))
    return None


def recording_start(path: Path, duration: float, tz: str = DEFAULT_TZ, offset: float = 0.0,
                    pattern: str | None = None) -> tuple[datetime, str]:
    """(start time, where it came from: 'pattern', 'filename', 'container' or 'mtime'); `offset`
    seconds corrects a camera's clock; `pattern` is the camera's own file-name pattern, tried first."""
    start, source = (from_pattern(path, pattern, tz), "pattern") if pattern else (None, "")
    if start is None:
        start, source = from_filename(Path(path).name, tz), "filename"
    if start is None:
        start, source = from_container(path, tz), "container"
    if start is None:
        start = datetime.fromtimestamp(Path(path).stat().st_mtime, ZoneInfo(tz)) - timedelta(seconds=duration)
        source = "mtime"
    return start + timedelta(seconds=offset), source


def recorded_start(path: Path, duration: float, tz: str = DEFAULT_TZ, pattern: str | None = None) -> tuple[str, str]:
    """(the start as the recording gives it, its source): as `recording_start` without the clock offset,
    in ISO text: a local time without a zone when it comes from the name ('pattern', 'filename': the
    camera's timezone is applied when it is read), else an instant with its UTC offset."""
    start, source = recording_start(path, duration, tz, 0.0, pattern)
    if source in ("pattern", "filename"):
        return start.replace(tzinfo=None).isoformat(), source
    return start.isoformat(), source


@dataclass(frozen=True)
class WallClock:
    """When a recording started in wall-clock time, and how that was worked out."""

    start: datetime  # aware, in `timezone`
    source: str  # pattern | filename | container | mtime | osd (the recorder's on-screen clock)
    timezone: str
    clock_offset: float  # seconds added to the recorder's clock
    dst: str | None = None  # 'gap' (the name's local time never happened) or 'overlap' (it happened twice)

    def at(self, seconds: float) -> datetime:
        """The wall-clock time `seconds` into the recording (counted in real seconds, across DST changes)."""
        return (self.start.astimezone(timezone.utc) + timedelta(seconds=seconds)).astimezone(self.start.tzinfo)

    @property
    def dst_note(self) -> str | None:
        if self.dst == "gap":
            return (f"the recorder's local start time does not exist in {self.timezone} (skipped by a daylight-saving change): "
                    "read with the offset before the change; check the recorder's clock")
        if self.dst == "overlap":
            return (f"the recorder's local start time happened twice in {self.timezone} (a daylight-saving change): "
                    "read as the first; it may be one hour later")
        return None


def wall_clock(recorded: str, source: str, tz: str = DEFAULT_TZ, offset: float = 0.0) -> WallClock:
    """The wall-clock start of a recording from its `recorded_start` text, the camera's timezone and its
    clock offset. A local time without a zone that a daylight-saving change skipped or repeated is
    flagged in `dst` (read with fold=0: the offset in force before the change)."""
    zone = ZoneInfo(tz)
    when = datetime.fromisoformat(recorded)
    dst = None
    if when.tzinfo is None:
        first, second = when.replace(tzinfo=zone, fold=0), when.replace(tzinfo=zone, fold=1)
        if first.utcoffset() != second.utcoffset():
            back = first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
            dst = "gap" if back != when else "overlap"
        when = first
    start = (when.astimezone(timezone.utc) + timedelta(seconds=offset)).astimezone(zone)
    return WallClock(start, source, tz, float(offset), dst)


# The recorder's on-screen clock (forensic.osd) as a source. A camera's `time_source` says when it is used:
TIME_SOURCES = ("auto", "osd", "file")
CLOCK_DISAGREEMENT = 120.0  # seconds: in "auto", a clock further than this from the file's time is used instead


def choose_start(file_start: datetime, file_source: str, clock_start: datetime | None, mode: str = "auto",
                 threshold: float = CLOCK_DISAGREEMENT) -> tuple[datetime, str, float | None]:
    """(start, source, disagreement): the start from the file (pattern, name, container or mtime, as
    recording_start found it) or from the on-screen clock ('osd'; `clock_start` None when the clock was not
    read reliably), and the clock minus the file's time in seconds (None without a reliable clock).

    'file': never the clock. 'osd': the clock whenever it reads reliably. 'auto': the clock when the file's
    time is only the modification time (a guess: copying changes it), or when the two disagree by more than
    `threshold` seconds (a container written in UTC or local time by mistake, an export tool's own time, a
    renamed file); otherwise the file's time, which the recorder wrote with the same clock and to the second."""
    if mode not in TIME_SOURCES:
        raise ValueError(f"time_source must be one of {', '.join(TIME_SOURCES)}, got {mode!r}")
    if clock_start is None:
        return file_start, file_source, None
    disagreement = round((clock_start - file_start).total_seconds(), 3)
    use_clock = mode == "osd" or (mode == "auto" and (file_source == "mtime" or abs(disagreement) > threshold))
    return (clock_start, "osd", disagreement) if use_clock else (file_start, file_source, disagreement)
