"""The recorder's on-screen clock (OSD): where it is in the picture, how it is written, reading it back from
OCR text, and whether it advances with the video. Pure logic: the reading itself is in
forensic.models.clock, the indexing side in forensic.index.clock.

A camera says where its clock is in the cameras file:

    osd = { region = [0.74, 0, 1, 0.06], format = "%d/%m/%Y %H:%M:%S" }

`region` is x0, y0, x1, y1 as fractions of the frame's width and height; `format` is strftime-like with
%d %m %Y %y %H %M %S (two digits each, four for %Y; a clock without seconds is read to the minute); any
other character is a separator or literal text. `osd = "auto"` looks for it in each recording: the text
lines of the top and bottom bands of one frame that read as a date-time in one of FIND_FORMATS
(forensic.models.clock.ClockReader.find); a date that reads either way is settled by the file's own date
(settle_order) or not used.

Reading k (a date-time read at video time t_k) says the recording started at clock_k - t_k, within the
format's resolution (1 s, or 60 s without %S): the true time at t_k lies in [clock_k, clock_k + resolution).
The readings of a clock that advances with the video agree on that start; a frozen overlay, a clock that
jumps, or OCR errors make them disagree, and the clock is then not used.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

ADVANCE_TOLERANCE = 2.0  # seconds (+ the format's resolution) within which readings must agree on the start
DIGITS = {"Y": 4, "y": 2, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}
# What the recogniser reads for a digit on a busy background (applied only to characters that are not
# part of the format's own text).
CONFUSIONS = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "U": "0", "l": "1", "I": "1", "i": "1", "|": "1",
                            "!": "1", "L": "1", "J": "1", "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "G": "6",
                            "b": "6", "g": "9", "q": "9", "T": "7"})


@dataclass(frozen=True)
class OsdFormat:
    """A clock's format, compiled: the directives in order, the literal text between them."""

    text: str
    fields: tuple[str, ...]  # directive letters in order: ("d", "m", "Y", "H", "M", "S")
    literals: tuple[str, ...]  # the text before, between and after them (len(fields) + 1)

    @property
    def resolution(self) -> float:
        """Seconds between two changes of the clock: 1, or 60 for a format without seconds."""
        return 1.0 if "S" in self.fields else 60.0

    @property
    def chars(self) -> set[str]:
        """The characters the clock can show: digits, its separators, a space."""
        return set("0123456789 ") | {c for lit in self.literals for c in lit}

    def _regex(self, strict: bool) -> re.Pattern:
        # strict: fixed widths, separators optional (a separator the reader missed or misread as another);
        # loose: one or two digits (a clock that does not pad), separators required.
        out = []
        for k, name in enumerate(self.fields):
            if k or self.literals[0]:
                out.append(r"\D*" if strict else r"\D+")
            width = DIGITS[name]
            out.append(f"(\\d{{{width}}})" if strict or width == 4 else r"(\d{1,2})")
        # strict: what follows the last field is not looked at (a clock that also shows seconds read with a
        # format without them); loose: a field must not run on into more digits
        return re.compile(r"(?<!\d)" + "".join(out) + ("" if strict else r"(?!\d)"))

    def parse(self, text: str, tz: str) -> datetime | None:
        """The date-time in OCR text (forgiving the reader's O/0, l/1 ... confusions and missing or misread
        separators where the digits still say it unambiguously), in timezone `tz`; None when it does not read."""
        text = unicodedata.normalize("NFKC", text or "")
        own = {c for lit in self.literals for c in lit}
        text = "".join(c if c in own else c.translate(CONFUSIONS) for c in text)
        for strict in (True, False):
            for m in self._regex(strict).finditer(text):
                when = self._datetime(dict(zip(self.fields, map(int, m.groups()))), tz)
                if when is not None:
                    return when
        return None

    @staticmethod
    def _datetime(v: dict, tz: str) -> datetime | None:
        year = v["Y"] if "Y" in v else 2000 + v["y"]
        if not 2000 <= year <= 2099:
            return None
        try:
            return datetime(year, v["m"], v["d"], v["H"], v["M"], v.get("S", 0), tzinfo=ZoneInfo(tz))
        except ValueError:  # 31/02, 25:61 ...
            return None


def compile_format(text: str) -> OsdFormat:
    """An OSD format ("%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M"): ValueError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"format must be text like '%d/%m/%Y %H:%M:%S', got {text!r}")
    fields, literals, current, i = [], [], [], 0
    while i < len(text):
        c = text[i]
        if c != "%":
            current.append(c)
            i += 1
            continue
        d = text[i + 1:i + 2]
        if d == "%":
            current.append("%")
        elif d in DIGITS:
            if d in fields or (d in "Yy" and {"Y", "y"} & set(fields)):
                raise ValueError(f"format {text!r} gives the {'year' if d in 'Yy' else '%' + d} twice")
            fields.append(d)
            literals.append("".join(current))
            current = []
        else:
            raise ValueError(f"format {text!r}: %{d} is not supported (use %d %m %Y %y %H %M %S)")
        i += 2
    literals.append("".join(current))
    missing = [d for d in ("d", "m", "H", "M") if d not in fields] + ([] if {"Y", "y"} & set(fields) else ["Y"])
    if missing:
        raise ValueError(f"format {text!r} lacks {', '.join('%' + d for d in missing)} (day, month, year, hour and minute are needed)")
    if any(c.isdigit() for lit in literals for c in lit):
        raise ValueError(f"format {text!r} has digits outside its %-fields")
    return OsdFormat(text, tuple(fields), tuple(literals))


@dataclass(frozen=True)
class OsdSpec:
    region: tuple[float, float, float, float] | None  # x0, y0, x1, y1 as fractions of the frame; None: "auto"
    format: OsdFormat | None  # None: "auto"

    @property
    def auto(self) -> bool:
        """Where the clock is and how it is written are to be found in each recording."""
        return self.region is None or self.format is None

    def crop(self, image):
        """The region of a frame (a view, not a copy)."""
        h, w = image.shape[:2]
        x0, y0, x1, y1 = self.region
        return image[int(y0 * h):max(int(math.ceil(y1 * h)), int(y0 * h) + 1), int(x0 * w):max(int(math.ceil(x1 * w)), int(x0 * w) + 1)]


def osd_spec(value) -> OsdSpec:
    """The cameras file's `osd = { region = [x0, y0, x1, y1], format = "..." }`, checked strictly:
    ValueError naming what is wrong."""
    example = "osd = { region = [0.74, 0, 1, 0.06], format = \"%d/%m/%Y %H:%M:%S\" }"
    if value == "auto":
        return OsdSpec(None, None)
    if not isinstance(value, dict):
        raise ValueError(f"osd must be \"auto\" or a table like {example}, got {value!r}")
    unknown = sorted(set(value) - {"region", "format"})
    if unknown:
        raise ValueError(f"osd has unknown key(s) {', '.join(map(repr, unknown))} (it takes region and format)")
    if "region" not in value or "format" not in value:
        raise ValueError(f"osd needs both region and format, like {example}")
    region = value["region"]
    if (not isinstance(region, list) or len(region) != 4
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in region)):
        raise ValueError(f"osd region must be four numbers [x0, y0, x1, y1] (fractions of the frame), got {region!r}")
    x0, y0, x1, y1 = map(float, region)
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise ValueError(f"osd region must have 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 (fractions of the frame), got {region!r}")
    try:
        fmt = compile_format(value["format"])
    except ValueError as e:
        raise ValueError(f"osd {e}") from None
    return OsdSpec((x0, y0, x1, y1), fmt)


# -- finding it ------------------------------------------------------------------------------------------
# The orders recorders write (separators are forgiven when parsing, so "/" stands for "-" and "." too): day
# before month first (Vietnam), then year first, then month first (a date like 06/08/2021, which reads either
# way, is settled by settle_order).
FIND_FORMATS = tuple(compile_format(f) for f in (
    "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%H:%M:%S %d/%m/%Y", "%H:%M:%S %Y-%m-%d",
    "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M", "%H:%M %d/%m/%Y"))
FIND_CHARS = set("0123456789/-:. ")  # what a text line is read over when looking for the clock


def guess_format(text: str, tz: str) -> OsdFormat | None:
    """The first of FIND_FORMATS the text reads as a date-time in, or None."""
    return next((f for f in FIND_FORMATS if f.parse(text, tz) is not None), None)


DATE_HINT = 2 * 86400.0  # seconds: how near the file's time a reading must be to settle the day/month order


def settle_order(text: str, found: OsdFormat, tz: str, near: datetime) -> tuple[OsdFormat | None, str]:
    """(format, "") when the text found by `guess_format` says one date, or when of the dates it could say
    (06/08/2021: 6 August or 8 June) only one is within two days of `near` (the file's own time); else
    (None, why): the camera's `format` must say the order."""
    options: dict[datetime, OsdFormat] = {}
    for f in FIND_FORMATS:
        when = f.parse(text, tz) if set(f.fields) == set(found.fields) else None
        if when is not None and when not in options:
            options[when] = f
    if len(options) <= 1:
        return found, ""
    close = [w for w in options if abs((w - near).total_seconds()) <= DATE_HINT]
    if len(close) == 1:
        return options[close[0]], ""
    dates = " or ".join(w.strftime("%Y-%m-%d") for w in options)
    return None, f"{text!r} reads as {dates} and the file's time does not tell which: set the camera's osd format"


# -- does it advance with the video? -----------------------------------------------------------------------
@dataclass
class ClockReading:
    t: float  # video seconds of the frame read
    text: str  # what the reader saw (its best candidate)
    candidates: list[tuple[datetime, float]] = field(default_factory=list)  # date-times it parses to, with confidence


@dataclass
class ClockCheck:
    status: str  # reliable | unreliable | unreadable | ambiguous (auto: day/month order unknown) | unavailable (no reader)
    start: datetime | None = None  # the recording's start by the clock (reliable only)
    uncertainty: float = 0.0  # seconds either side of start
    agreeing: int = 0  # frames whose reading agrees on the start
    parsed: int = 0  # frames with a date-time read
    frames: int = 0  # frames read
    span: float = 0.0  # video seconds between the first and last agreeing frames
    reason: str = ""
    readings: list[dict] = field(default_factory=list)  # per frame: t, text, the date-time used (or None)

    def to_dict(self) -> dict:
        return {"status": self.status, "start": self.start.isoformat(timespec="milliseconds") if self.start else None,
                "uncertainty": round(self.uncertainty, 3), "agreeing": self.agreeing, "parsed": self.parsed, "frames": self.frames,
                "span": round(self.span, 3), "reason": self.reason, "readings": self.readings}


def check_advance(readings: list[ClockReading], resolution: float, tolerance: float = ADVANCE_TOLERANCE) -> ClockCheck:
    """Whether the readings show a clock advancing with the video, and the start they agree on.

    Each frame's candidates give starts clock - t; the window of width resolution + tolerance holding
    the most frames wins. Reliable when at least two frames agree and they are at least two thirds of the
    frames that read as a date-time: a frozen or jumping clock, or a reader that misreads often, is not used."""
    frames = len(readings)
    parsed = [r for r in readings if r.candidates]
    out = ClockCheck("unreadable", frames=frames, parsed=len(parsed),
                     readings=[{"t": round(r.t, 3), "text": r.text, "time": None} for r in readings])
    if not parsed:
        out.reason = f"no date-time read in {frames} frames"
        return out
    width = resolution + tolerance
    offsets = sorted(((when.timestamp() - r.t, conf, k, when) for k, r in enumerate(readings) for when, conf in r.candidates),
                     key=lambda o: o[0])
    best = None
    for lo in offsets:  # the window [lo, lo + width] with the most frames (then the most confidence)
        inside = {}
        for o in offsets:
            if lo[0] <= o[0] <= lo[0] + width and (o[2] not in inside or o[1] > inside[o[2]][1]):
                inside[o[2]] = o
        key = (len(inside), sum(o[1] for o in inside.values()))
        if best is None or key > best[0]:
            best = (key, inside)
    inside = best[1]
    out.agreeing = len(inside)
    for k, o in inside.items():
        out.readings[k]["time"] = o[3].isoformat()
    ts = [readings[k].t for k in inside]
    out.span = max(ts) - min(ts)
    if out.agreeing < 2 or 3 * out.agreeing < 2 * len(parsed):
        out.status = "unreliable"
        out.reason = (f"{out.agreeing} of {len(parsed)} frames read agree on the start (need at least 2 and two thirds): "
                      "the clock does not advance with the video, or is misread")
        return out
    starts = [o[0] for o in inside.values()]
    lo, hi = max(starts), min(starts) + resolution  # the start lies in [clock_k - t_k, clock_k - t_k + resolution) for every k
    tz = next(iter(inside.values()))[3].tzinfo
    out.status = "reliable"
    out.start = datetime.fromtimestamp(round((lo + hi) / 2, 3), tz)
    out.uncertainty = abs(hi - lo) / 2
    out.reason = f"{out.agreeing} of {frames} frames agree, over {out.span:.0f} s of video"
    return out
