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

import difflib
import fnmatch
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
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


KEYS = {"id": "text", "name": "text", "places": "a list of texts", "match": "a list of globs", "timezone": "text",
        "clock_offset": "a number of seconds", "time_pattern": "text", "osd": "an on-screen clock", "time_source": "text"}
_HEADER = re.compile(r"^\s*\[\[\s*(?:camera|\"camera\"|'camera')\s*\]\]")


class _Lines:
    """Line numbers in the cameras file: of each [[camera]] header, and of a key within one camera."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.headers = [n for n, line in enumerate(self.lines, 1) if _HEADER.match(line)]

    def camera(self, k: int) -> int | None:
        return self.headers[k] if k < len(self.headers) else None

    def key(self, k: int, key: str) -> int | None:
        first = self.camera(k)
        if first is None:
            return None
        last = self.headers[k + 1] if k + 1 < len(self.headers) else len(self.lines) + 1
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
        return next((n for n in range(first + 1, last) if pattern.match(self.lines[n - 1])), first)

    def top(self, key: str) -> int | None:
        pattern = re.compile(rf"^\s*(?:\[+\s*)?(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*(?:=|\]|\.)")
        return next((n for n, line in enumerate(self.lines, 1) if pattern.match(line)), None)


def _check_entry(entry: dict, k: int, lines: _Lines, where) -> None:
    """Unknown (misspelt) keys and values of the wrong type: a string where a list belongs would be read
    letter by letter ('*cam1*' as the globs '*', 'c', ...: every file)."""
    for key, value in entry.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            raise ForensicError(f"{where(k, key)}: unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                                + f"; a camera takes {', '.join(KEYS)}")
        kind = KEYS[key]
        if kind == "text":
            ok = isinstance(value, str) and (value.strip() or key not in ("id", "name", "timezone"))
        elif kind.startswith("a list"):
            ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
        else:
            ok = True  # clock_offset and osd: checked with their own messages (_offset, forensic.osd.osd_spec)
        if not ok:
            example = {"places": '["ngã tư Trực Cát", "Truc Cat"]', "match": '["*/truccat/*", "*ch01_*"]',
                       "time_source": '"auto"'}.get(key, '"..."')
            raise ForensicError(f"{where(k, key)}: {key} must be {kind}" + (" (non-empty)" if kind == "text" else " of non-empty texts")
                                + f", like {key} = {example}; got {value!r}")


def load_cameras(path: Path | None, index_root: Path | None = None) -> Cameras:
    """Cameras from `path`, else from the index folder's cameras.toml, else none.

    The file is read strictly: an unknown (misspelt) key, a value of the wrong type, two cameras with one
    id, or one place name (or camera name) given to two cameras is an error naming the line."""
    if path is None and index_root is not None and (index_root / FILE_NAME).is_file():
        path = index_root / FILE_NAME
    if path is None:
        return Cameras()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ForensicError(f"cameras file {path} does not exist") from None
    except OSError as e:
        raise ForensicError(f"cannot read cameras file {path}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ForensicError(f"cameras file {path} is not valid TOML: {e}") from None
    lines = _Lines(text)

    def where(k: int, key: str | None = None) -> str:
        n = lines.key(k, key) if key else lines.camera(k)
        return f"cameras file {path}" + (f", line {n}" if n else "") + f" (camera #{k + 1}{', ' + key if key else ''})"

    for key in data:
        if key != "camera":
            n = lines.top(key)
            raise ForensicError(f"cameras file {path}{f', line {n}' if n else ''}: unknown key {key!r}: "
                                "the file holds [[camera]] tables only")
    entries = data.get("camera", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        n = lines.top("camera")
        raise ForensicError(f"cameras file {path}{f', line {n}' if n else ''}: 'camera' must be [[camera]] tables")
    cams = []
    ids: dict[str, int] = {}
    aliases: dict[str, tuple[int, str]] = {}
    for k, entry in enumerate(entries):
        n = k + 1
        if not entry.get("id"):
            raise ForensicError(f"{where(k)}: camera #{n} needs an id")
        _check_entry(entry, k, lines, where)
        cam_id = entry["id"]
        if cam_id in ids:
            raise ForensicError(f"{where(k, 'id')}: id {cam_id!r} is already the id of camera #{ids[cam_id] + 1} "
                                f"(line {lines.key(ids[cam_id], 'id')}): ids must be unique")
        ids[cam_id] = k
        tz = entry.get("timezone", DEFAULT_TZ)
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ForensicError(f"{where(k, 'timezone')}: camera {cam_id!r} has an unknown timezone {tz!r}") from None
        pattern = entry.get("time_pattern")
        try:
            if pattern is not None:
                compile_pattern(pattern)
            cam = Camera(id=cam_id, name=entry.get("name", cam_id), places=tuple(entry.get("places", ())),
                         match=tuple(entry.get("match", ())), timezone=tz, clock_offset=_offset(entry.get("clock_offset", 0)),
                         time_pattern=pattern or None)
        except (TypeError, ValueError, PatternError) as e:
            key = "time_pattern" if isinstance(e, PatternError) else "clock_offset"
            raise ForensicError(f"{where(k, key)}: camera {cam_id!r}: {e}") from None
        try:  # the on-screen clock: where it is and how it is written, checked by forensic.osd
            osd = osd_spec(entry["osd"]) if "osd" in entry else None
        except ValueError as e:
            raise ForensicError(f"{where(k, 'osd')}: camera {cam_id!r}: {e}") from None
        source = entry.get("time_source", "auto")
        if source not in TIME_SOURCES:
            raise ForensicError(f"{where(k, 'time_source')}: camera {cam_id!r}: time_source must be one of "
                                f"{', '.join(TIME_SOURCES)}, got {source!r}")
        if source == "osd" and osd is None:
            raise ForensicError(f"{where(k, 'time_source')}: camera {cam_id!r}: time_source = \"osd\" needs "
                                'osd = { region = [x0, y0, x1, y1], format = "..." } (where the clock is)')
        cam = replace(cam, osd=osd, time_source=source)
        for name, key in [(p, "places") for p in cam.places] + [(cam.name, "name")]:
            alias = " ".join(fold(name).split())
            other = aliases.get(alias)
            if other is not None and other[0] != k:
                raise ForensicError(f"{where(k, key)}: the place {name!r} is also a place of camera #{other[0] + 1} "
                                    f"({entries[other[0]]['id']!r}, line {lines.key(other[0], other[1])}): a place names one camera")
            aliases.setdefault(alias, (k, key))
        cams.append(cam)
    return Cameras(cams, path)
