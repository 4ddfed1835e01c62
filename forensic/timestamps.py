"""When a recording started, in wall-clock time.

From the file name of common DVR/NVR exports (Hikvision, Dahua, generic YYYYMMDD_HHMMSS and
YYYY-MM-DD_HH-MM-SS), else from the file's modification time (the end of the recording) minus its
duration. Names carry the recorder's local time: the camera's timezone (default Vietnam) applies.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Ho_Chi_Minh"

# 2026-11-21 08:30:15 written as 20261121083015, 20261121_083015, 2026-11-21_08-30-15,
# 2026-11-21.08.30.15 (Dahua), 2026-11-21 08.30.15, 2026-11-21T08:30:15 ...
_STAMP = re.compile(r"(?<!\d)(20\d\d)([-_.]?)(\d\d)\2(\d\d)[-_.T ]?(\d\d)([-_.:h]?)(\d\d)\6(\d\d)(?!\d)")


def from_filename(name: str, tz: str = DEFAULT_TZ) -> datetime | None:
    """The first valid date-time in a file name (the start, when a name holds start and end)."""
    for m in _STAMP.finditer(name):
        y, mo, d, h, mi, s = (int(m.group(i)) for i in (1, 3, 4, 5, 7, 8))
        try:
            return datetime(y, mo, d, h, mi, s, tzinfo=ZoneInfo(tz))
        except ValueError:
            continue
    return None


def recording_start(path: Path, duration: float, tz: str = DEFAULT_TZ, offset: float = 0.0) -> tuple[datetime, str]:
    """(start time, where it came from: 'filename' or 'mtime'); `offset` seconds corrects a camera's clock."""
    start = from_filename(Path(path).name, tz)
    source = "filename"
    if start is None:
        start = datetime.fromtimestamp(Path(path).stat().st_mtime, ZoneInfo(tz)) - timedelta(seconds=duration)
        source = "mtime"
    return start + timedelta(seconds=offset), source
