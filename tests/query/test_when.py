"""Time phrases, English and Vietnamese, relative to a fixed 'now' (09:30 on 22 Nov 2026, Vietnam)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from forensic.query import fold_chars
from forensic.query.when import TimeError, extract_time, parse_datetime

TZ = "Asia/Ho_Chi_Minh"
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=ZoneInfo(TZ))


def at(day, hour, minute=0):
    return datetime(2026, 11, day, 0, 0, tzinfo=ZoneInfo(TZ)).replace(hour=hour % 24, minute=minute) if hour < 24 else \
        datetime(2026, 11, day + 1, hour - 24, minute, tzinfo=ZoneInfo(TZ))


@pytest.mark.parametrize("text, since, until", [
    ("red motorbike last night", at(21, 18), at(22, 6)),
    ("xe máy đỏ đêm qua", at(21, 18), at(22, 6)),
    ("xe may do dem qua", at(21, 18), at(22, 6)),
    ("yesterday", at(21, 0), at(22, 0)),
    ("hôm qua", at(21, 0), at(22, 0)),
    ("this morning", at(22, 5), at(22, 12)),
    ("sáng nay", at(22, 5), at(22, 12)),
    ("from 20:00 to 22:00", at(21, 20), at(21, 22)),  # later than now: the evening before
    ("20h-22h", at(21, 20), at(21, 22)),
    ("từ 20h đến 22h", at(21, 20), at(21, 22)),
    ("hôm qua 20h-22h", at(21, 20), at(21, 22)),
    ("8:15-9:00", at(22, 8, 15), at(22, 9)),
    ("2026-11-20", at(20, 0), at(21, 0)),
    ("ngày 20/11", at(20, 0), at(21, 0)),
    ("20/11/2026 evening", at(20, 18), at(21, 6)),
    ("last night 1h-3h", at(22, 1), at(22, 3)),
    ("22h-2h", at(21, 22), at(22, 2)),
])
def test_phrases(text, since, until):
    s, u, label, spans = extract_time(fold_chars(text.lower()), NOW, TZ)
    assert (s, u) == (since, until)
    assert label and spans


@pytest.mark.parametrize("text", ["red motorbike", "xe tải", "người mặc áo trắng", "camera 3"])
def test_no_time(text):
    assert extract_time(fold_chars(text.lower()), NOW, TZ)[0] is None


def test_bad_dates():
    with pytest.raises(TimeError):
        extract_time("2026-13-45", NOW, TZ)
    with pytest.raises(TimeError):
        parse_datetime("next blue moon", NOW, TZ)


def test_flag_values():
    assert parse_datetime("2026-11-21", NOW, TZ) == at(21, 0)
    assert parse_datetime("2026-11-21", NOW, TZ, end=True) == at(22, 0)
    assert parse_datetime("2026-11-21T20:30", NOW, TZ) == at(21, 20, 30)
    assert parse_datetime("07:45", NOW, TZ) == at(22, 7, 45)
    assert parse_datetime("yesterday", NOW, TZ, end=True) == at(22, 0)


@pytest.mark.parametrize("text", ["2026-11-21T25:99", "2026-02-30", "2026-11-21 25:00", "25:00", "20:61", "yesterday xyz",
                                  "last night maybe", "20:00 tomorrow", ""])
def test_flag_values_that_are_no_time_are_refused(text):
    """They were read as something else: 2026-11-21T25:99 became today 11:00, 25:00 became 01:00 (issue 11)."""
    with pytest.raises(TimeError, match="is not a"):
        parse_datetime(text, NOW, TZ)


def test_flag_values_with_their_own_offset_and_in_words():
    assert parse_datetime("2026-11-21T20:00Z", NOW, TZ) == datetime(2026, 11, 21, 20, 0, tzinfo=ZoneInfo("UTC"))
    assert parse_datetime("2026-11-21T20:00+02:00", NOW, TZ).utcoffset().total_seconds() == 7200
    assert parse_datetime("20:00", NOW, "Europe/London") == datetime(2026, 11, 22, 20, 0, tzinfo=ZoneInfo("Europe/London"))
    assert parse_datetime("hôm qua", NOW, TZ) == at(21, 0) and parse_datetime("đêm qua", NOW, TZ, end=True) == at(22, 6)
    assert parse_datetime("2026-11-21 evening", NOW, TZ) == at(21, 18)
