"""Cameras: names, place aliases, the files each one recorded, its timezone and clock offset.

Read from a TOML file (--cameras FILE, $FORENSIC_CAMERAS, or cameras.toml in the index folder):

    [[camera]]
    id = "truccat"
    name = "Ngã tư Trực Cát"
    places = ["Trực Cát", "ngã tư Trực Cát", "Truc Cat crossroads"]
    match = ["*truccat*"]               # globs on the file's path (folders too)
    timezone = "Asia/Ho_Chi_Minh"       # default
    clock_offset = 0                    # seconds to add to the recorder's clock
    time_pattern = "CAM01_%Y%m%d_%H%M%S"  # optional: where this recorder writes the start time in
                                        # its file names (tried before the built-in DVR/NVR patterns)
    osd = { region = [0.74, 0, 1, 0.06], format = "%d/%m/%Y %H:%M:%S" }  # optional: the clock burnt
                                        # into the picture (forensic.osd), read at a few moments of each video
    time_source = "auto"                # auto | osd | file: when that clock gives the start (timestamps.choose_start)

A video that matches no camera belongs to a camera named after its folder.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from forensic.errors import ForensicError
from forensic.osd import OsdSpec, osd_spec
from forensic.query import fold
from forensic.timestamps import DEFAULT_TZ, TIME_SOURCES, PatternError, compile_pattern

FILE_NAME = "cameras.toml"


@dataclass(frozen=True)
class Camera:
    id: str
    name: str
    places: tuple[str, ...] = ()
    match: tuple[str, ...] = ()
    timezone: str = DEFAULT_TZ
    clock_offset: float = 0.0
    time_pattern: str | None = None  # strftime-style start time in the file name (see timestamps.compile_pattern)
    osd: OsdSpec | None = None  # where the recorder's on-screen clock is and how it is written
    time_source: str = "auto"  # auto | osd | file: when the on-screen clock gives the start (timestamps.choose_start)

    def owns(self, path: Path | str) -> bool:
        text = str(path)
        return any(fnmatch.fnmatch(text, p) or fnmatch.fnmatch(Path(text).name, p) or f"/{p.strip('/')}/" in text for p in self.match)

    @property
    def aliases(self) -> list[str]:
        """Folded names a user may type for this camera's place."""
        return sorted({fold(a).strip() for a in (self.id, self.name, *self.places) if a.strip()}, key=len, reverse=True)


@dataclass
class Cameras:
    cameras: list[Camera] = field(default_factory=list)
    source: Path | None = None

    def for_path(self, path: Path) -> Camera:
        for cam in self.cameras:
            if cam.owns(path):
                return cam
        folder = Path(path).parent.name or "camera"
        return Camera(id=folder, name=folder)

    def find_place(self, words: str) -> Camera | None:
        """The camera whose name or alias the words name (diacritics and case ignored, forgiving)."""
        text = " " + " ".join(fold(words).split()) + " "
        best = None
        for cam in self.cameras:
            for alias in cam.aliases:
                if f" {alias} " in text and (best is None or len(alias) > best[0]):
                    best = (len(alias), cam)
        if best:
            return best[1]
        import difflib

        scored = [(difflib.SequenceMatcher(None, fold(words).strip(), a).ratio(), cam) for cam in self.cameras for a in cam.aliases]
        scored.sort(key=lambda s: -s[0])
        return scored[0][1] if scored and scored[0][0] >= 0.8 else None

    def known_places(self) -> str:
        return "; ".join(f"{c.name} ({', '.join(c.places)})" if c.places else c.name for c in self.cameras) or "none (no cameras file)"


MAX_CLOCK_OFFSET = 100 * 366 * 86400  # seconds: a recorder reset to its factory date is decades off, never more


def _offset(value) -> float:
    """clock_offset as seconds: a finite number within a hundred years (1e300 or nan would wreck every time)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"clock_offset must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or abs(value) > MAX_CLOCK_OFFSET:
        raise ValueError(f"clock_offset must be a number of seconds within a hundred years (±{MAX_CLOCK_OFFSET}), got {value!r}")
    return float(value)


def load_cameras(path: Path | None, index_root: Path | None = None) -> Cameras:
    """Cameras from `path`, else from the index folder's cameras.toml, else none."""
    if path is None and index_root is not None and (index_root / FILE_NAME).is_file():
        path = index_root / FILE_NAME
    if path is None:
        return Cameras()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ForensicError(f"cameras file {path} does not exist") from None
    except OSError as e:
        raise ForensicError(f"cannot read cameras file {path}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ForensicError(f"cameras file {path} is not valid TOML: {e}") from None
    cams = []
    for n, entry in enumerate(data.get("camera", []), 1):
        if not isinstance(entry, dict) or not entry.get("id"):
            raise ForensicError(f"cameras file {path}: camera #{n} needs an id")
        tz = entry.get("timezone", DEFAULT_TZ)
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ForensicError(f"cameras file {path}: camera {entry['id']!r} has an unknown timezone {tz!r}") from None
        pattern = entry.get("time_pattern")
        try:
            if pattern is not None:
                if not isinstance(pattern, str):
                    raise TypeError(f"time_pattern must be text like 'CAM01_%Y%m%d_%H%M%S', got {pattern!r}")
                compile_pattern(pattern)
            osd = osd_spec(entry["osd"]) if "osd" in entry else None
            source = entry.get("time_source", "auto")
            if source not in TIME_SOURCES:
                raise ValueError(f"time_source must be one of {', '.join(TIME_SOURCES)}, got {source!r}")
            if source == "osd" and osd is None:
                raise ValueError('time_source = "osd" needs osd = { region = [x0, y0, x1, y1], format = "..." } (where the clock is)')
            cams.append(Camera(id=str(entry["id"]), name=str(entry.get("name", entry["id"])), places=tuple(map(str, entry.get("places", ()))),
                               match=tuple(map(str, entry.get("match", ()))), timezone=tz, clock_offset=_offset(entry.get("clock_offset", 0)),
                               time_pattern=pattern or None, osd=osd, time_source=source))
        except (TypeError, ValueError, PatternError) as e:
            raise ForensicError(f"cameras file {path}: camera {entry['id']!r}: {e}") from None
    return Cameras(cams, path)
