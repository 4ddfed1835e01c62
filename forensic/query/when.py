"""Time phrases in a query, English and Vietnamese: "yesterday", "hôm qua", "last night", "đêm qua",
"this morning", "sáng nay", "from 20:00 to 22:00", "20h-22h", "từ 20h đến 22h", "2026-11-21", "21/11".

`extract_time` finds them in a folded text (see forensic.query.parse.fold_chars), returns the time
window and the character spans it used, so the rest of the query can be parsed without them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# (pattern on folded text, (day offset, start hour, end hour; end may pass 24))
_DAY_WORDS = [
    (r"\b(?:last night|dem qua|toi qua|dem hom qua|toi hom qua)\b", (-1, 18, 30)),
    (r"\b(?:tonight|dem nay|toi nay|this evening)\b", (0, 18, 30)),
    (r"\b(?:this morning|sang nay)\b", (0, 5, 12)),
    (r"\b(?:this afternoon|chieu nay)\b", (0, 12, 18)),
    (r"\b(?:yesterday morning|sang hom qua|sang qua)\b", (-1, 5, 12)),
    (r"\b(?:yesterday afternoon|chieu hom qua|chieu qua)\b", (-1, 12, 18)),
    (r"\b(?:yesterday|hom qua)\b", (-1, 0, 24)),
    (r"\b(?:today|hom nay)\b", (0, 0, 24)),
]
# Parts of a day, used only next to a date ("21/11 sáng", "2026-11-21 evening").
_PARTS = [(r"\b(?:morning|sang)\b", (5, 12)), (r"\b(?:afternoon|chieu)\b", (12, 18)), (r"\b(?:evening|night|toi|dem)\b", (18, 30))]
_HOUR = r"(\d{1,2})(?:(?::|h)(\d{2})?)?"
_RANGE = re.compile(rf"(?:\b(?:from|tu|between)\s+)?\b{_HOUR}\s*(?:-|–|to|den|toi|and|->)\s*{_HOUR}(?![\d/])")
_ISO_DATE = re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)\b")
_VN_DATE = re.compile(r"\b(?:ngay\s+)?(\d{1,2})/(\d{1,2})(?:/(20\d\d))?\b")


class TimeError(ValueError):
    pass


def extract_time(folded: str, now: datetime, tz: str) -> tuple[datetime | None, datetime | None, str, list[tuple[int, int]]]:
    """(since, until, label, spans used); since/until None when the text names no time."""
    zone = ZoneInfo(tz)
    now = now.astimezone(zone)
    spans: list[tuple[int, int]] = []
    day: date | None = None
    hours: tuple[float, float] | None = None
    label = []

    for pattern, (offset, h0, h1) in _DAY_WORDS:
        m = re.search(pattern, folded)
        if m:
            day = now.date() + timedelta(days=offset)
            hours = (h0, h1)
            spans.append(m.span())
            label.append(m.group(0))
            break
    for regex in (_ISO_DATE, _VN_DATE):
        m = regex.search(folded)
        if m and not _overlaps(m.span(), spans):
            try:
                if regex is _ISO_DATE:
                    day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                else:
                    day = date(int(m.group(3) or now.year), int(m.group(2)), int(m.group(1)))
            except ValueError:
                raise TimeError(f"{m.group(0)!r} is not a valid date") from None
            spans.append(m.span())
            label.append(m.group(0))
            break
    if day is not None and hours is None:
        for pattern, part in _PARTS:
            m = re.search(pattern, folded)
            if m and not _overlaps(m.span(), spans):
                hours = part
                spans.append(m.span())
                label.append(m.group(0))
                break
    m = _RANGE.search(folded)
    if m and not _overlaps(m.span(), spans):
        h0, m0, h1, m1 = (int(g) if g else 0 for g in m.groups())
        if h0 > 24 or h1 > 24 or m0 > 59 or m1 > 59:
            raise TimeError(f"{m.group(0)!r} is not a time range")
        start, end = h0 + m0 / 60, h1 + m1 / 60
        if end <= start:
            end += 24  # 22h-2h: past midnight
        if hours is not None and hours[0] >= 18 and start < 12:  # "last night 1h-3h": after midnight
            start, end = start + 24, end + 24
        hours = (start, end)
        spans.append(m.span())
        label.append(m.group(0))
        if day is None:
            day = now.date() if start <= now.hour + now.minute / 60 else now.date() - timedelta(days=1)
    if day is None:
        return None, None, "", []
    h0, h1 = hours or (0, 24)
    base = datetime.combine(day, time(0), zone)
    return base + timedelta(hours=h0), base + timedelta(hours=h1), " ".join(label), spans


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in spans)


USAGE = "use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (with an offset such as +07:00 or Z if you like), HH:MM or 'yesterday'"


def has_zone(text: str) -> bool:
    """Whether a --since/--until value names its own UTC offset ('2026-11-21T20:00+07:00', '...Z')."""
    try:
        return datetime.fromisoformat(text.strip()).tzinfo is not None
    except ValueError:
        return False


def parse_datetime(text: str, now: datetime, tz: str, end: bool = False) -> datetime:
    """--since / --until values: ISO date or date-time (its own offset, e.g. +07:00 or Z, wins over `tz`),
    'HH:MM' (today), or a day phrase ('yesterday', 'hôm qua', 'last night'). Anything else, or a value
    with something left over ('2026-11-21T25:99', '25:00'), is a TimeError: never read as something else."""
    zone = ZoneInfo(tz)
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
        if len(text) == 10 and end:
            value += timedelta(days=1)
        return value if value.tzinfo else value.replace(tzinfo=zone)
    except ValueError:
        if re.fullmatch(r"\d{4}-[\dT:.,+\-Z ]*", text):  # an ISO date-time that does not hold: 2026-11-21T25:99, 2026-02-30
            raise TimeError(f"{text!r} is not a valid date or time ({USAGE})") from None
    m = re.fullmatch(_HOUR, text)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour > 23 or minute > 59:
            raise TimeError(f"{text!r} is not a time of day ({USAGE})")
        return datetime.combine(now.astimezone(zone).date(), time(hour, minute), zone)
    folded = "".join(c for c in unicodedata.normalize("NFD", text.lower().replace("đ", "d")) if unicodedata.category(c) != "Mn")
    since, until, _, spans = extract_time(folded, now, tz)
    rest = list(folded)
    for a, b in spans:
        rest[a:b] = " " * (b - a)
    if since is None or "".join(rest).strip():
        raise TimeError(f"{text!r} is not a date or time ({USAGE})")
    return until if end else since
