"""The recorder's on-screen clock: its format, reading OCR text back, the cameras-file option, and the check
that the clock advances with the video (pure logic: forensic.osd)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from forensic.osd import ClockReading, check_advance, compile_format, guess_format, osd_spec, settle_order

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SECONDS = compile_format("%d/%m/%Y %H:%M:%S")
MINUTES = compile_format("%d/%m/%Y %H:%M")


def at(h, m, s=0, day=6):
    return datetime(2021, 8, day, h, m, s, tzinfo=VN)


@pytest.mark.parametrize("text, expected", [
    ("06/08/2021 13:52:27", at(13, 52, 27)),
    ("06/08/2021  13:52:27", at(13, 52, 27)),  # two spaces, as the crossroad recorder writes it
    ("06/08/202113.52:27", at(13, 52, 27)),  # a separator missed, another read as '.'
    ("06/08/2021135227", at(13, 52, 27)),  # every separator missed: the widths still say it
    ("O6/O8/2O21 l3:52:27", at(13, 52, 27)),  # O for 0, l for 1
    ("ACVIEW 06/08/2021 13:52:27 CAM1", at(13, 52, 27)),  # other text around it
    ("6/8/2021 9:05:07", at(9, 5, 7)),  # a clock that does not pad
    ("06/08/2021-13:52:27", at(13, 52, 27)),
])
def test_parse_forgives_the_readers_mistakes(text, expected):
    assert SECONDS.parse(text, "Asia/Ho_Chi_Minh") == expected


@pytest.mark.parametrize("text", [
    "06108720217133227",  # separators read as digits: the digits no longer say it unambiguously
    "31/02/2021 13:52:27",  # no such day
    "06/08/2021 25:52:27",  # no such hour
    "06/08/2021 13:52",  # no seconds where the format has them
    "ACVIEW PTZ",
    "",
])
def test_parse_refuses_what_does_not_say_a_time(text):
    assert SECONDS.parse(text, "Asia/Ho_Chi_Minh") is None


def test_a_format_without_seconds_reads_to_the_minute():
    assert MINUTES.resolution == 60 and SECONDS.resolution == 1
    assert MINUTES.parse("06/08/2021 13:52", "Asia/Ho_Chi_Minh") == at(13, 52)
    assert MINUTES.parse("06/08/2021 13:52:27", "Asia/Ho_Chi_Minh") == at(13, 52)  # a clock showing seconds too
    other = compile_format("%Y-%m-%d %H:%M:%S")
    assert other.parse("2021-08-06 13:52:27", "UTC") == datetime(2021, 8, 6, 13, 52, 27, tzinfo=ZoneInfo("UTC"))
    assert compile_format("%d-%m-%y %Hh%M").parse("06-08-21 13h52", "Asia/Ho_Chi_Minh") == at(13, 52)
    assert set("0123456789/: ") <= SECONDS.chars and "A" not in SECONDS.chars


@pytest.mark.parametrize("fmt, message", [
    ("%d/%m/%Y", "lacks %H, %M"),
    ("%d/%m %H:%M", "lacks %Y"),
    ("%d/%m/%Y %H:%M:%S %p", "%p is not supported"),
    ("%d/%m/%Y %y %H:%M", "year twice"),
    ("%d/%m/%Y %H:%M:%S 2", "digits outside"),
    ("", "format must be text"),
    (17, "format must be text"),
])
def test_bad_formats(fmt, message):
    with pytest.raises(ValueError, match=message):
        compile_format(fmt)


def test_the_cameras_file_option():
    spec = osd_spec({"region": [0.74, 0, 1, 0.06], "format": "%d/%m/%Y %H:%M:%S"})
    assert spec.region == (0.74, 0.0, 1.0, 0.06) and spec.format.fields == ("d", "m", "Y", "H", "M", "S")
    import numpy as np

    assert spec.crop(np.zeros((1080, 1920, 3), np.uint8)).shape == (65, 500, 3)


@pytest.mark.parametrize("value, message", [
    ("top-right", "osd must be \"auto\" or a table"),
    ({"region": [0, 0, 0.5, 0.08]}, "osd needs both region and format"),
    ({"region": [0, 0, 0.5], "format": "%d/%m/%Y %H:%M"}, "osd region must be four numbers"),
    ({"region": [0, 0, 0.5, "x"], "format": "%d/%m/%Y %H:%M"}, "osd region must be four numbers"),
    ({"region": [0, 0, 50, 8], "format": "%d/%m/%Y %H:%M"}, "fractions of the frame"),
    ({"region": [0.5, 0, 0.2, 0.1], "format": "%d/%m/%Y %H:%M"}, "x0 < x1"),
    ({"region": [0, 0, 0.5, 0.08], "format": "%H:%M"}, "osd format '%H:%M' lacks"),
    ({"region": [0, 0, 0.5, 0.08], "format": "%d/%m/%Y %H:%M", "colour": "white"}, "unknown key"),
])
def test_the_option_is_checked_strictly(value, message):
    with pytest.raises(ValueError, match=message):
        osd_spec(value)


def test_auto_and_the_formats_it_tries():
    assert osd_spec("auto").auto and not osd_spec({"region": [0, 0, 1, 0.1], "format": "%d/%m/%Y %H:%M"}).auto
    guess = {t: (f.text if f else None) for t in ("06/08/2021  13:52:27", "2021-08-06 13:52", "13:52:27 06-08-2021", "08/26/2021 13:52:27",
                                                   "06/08/2021135232", "ACVIEW PTZ", "Enable sound notifications") for f in [guess_format(t, "UTC")]}
    assert guess == {"06/08/2021  13:52:27": "%d/%m/%Y %H:%M:%S",  # day first is tried first (settle_order decides)
                     "2021-08-06 13:52": "%Y-%m-%d %H:%M", "13:52:27 06-08-2021": "%H:%M:%S %d/%m/%Y",
                     "08/26/2021 13:52:27": "%m/%d/%Y %H:%M:%S",  # month first only where day first cannot be
                     "06/08/2021135232": "%d/%m/%Y %H:%M:%S", "ACVIEW PTZ": None, "Enable sound notifications": None}


def test_auto_settles_day_and_month_by_the_files_date_or_not_at_all():
    text = "06/08/2021  13:52:27"
    found = guess_format(text, "Asia/Ho_Chi_Minh")
    fmt, why = settle_order(text, found, "Asia/Ho_Chi_Minh", at(20, 52, 37))  # the container: 6 August, 7 h off
    assert fmt.text == "%d/%m/%Y %H:%M:%S" and why == ""
    fmt, _ = settle_order(text, found, "Asia/Ho_Chi_Minh", datetime(2021, 6, 8, 9, 0, tzinfo=VN))  # a file of 8 June
    assert fmt.text == "%m/%d/%Y %H:%M:%S" and fmt.parse(text, "Asia/Ho_Chi_Minh").month == 6
    fmt, why = settle_order(text, found, "Asia/Ho_Chi_Minh", datetime(2026, 12, 2, tzinfo=VN))  # the file's time says nothing
    assert fmt is None and "2021-08-06 or 2021-06-08" in why and "set the camera's osd format" in why
    night = "08-28-2024 21:18:05"  # month first, and only month first can read it
    assert settle_order(night, guess_format(night, "UTC"), "UTC", datetime(2026, 12, 2, tzinfo=ZoneInfo("UTC")))[0].text == "%m/%d/%Y %H:%M:%S"


# -- does it advance with the video? -------------------------------------------------------------------
def readings(*pairs):
    return [ClockReading(t, "", [(when, 0.9)] if when else []) for t, when in pairs]


def test_a_clock_that_advances_gives_the_start():
    check = check_advance(readings((0.5, at(13, 52, 27)), (5.2, at(13, 52, 32)), (9.9, at(13, 52, 37))), 1.0)
    assert check.status == "reliable" and check.agreeing == 3 and check.span == pytest.approx(9.4)
    # the true time at t lies in [clock, clock + 1): the start in [27.1, 27.5) here
    assert at(13, 52, 27).timestamp() + 0.1 <= check.start.timestamp() <= at(13, 52, 27).timestamp() + 0.5
    assert check.uncertainty <= 0.5 and check.start.tzinfo is not None


def test_a_frozen_clock_is_not_used():
    check = check_advance(readings((1.0, at(13, 52, 27)), (60.0, at(13, 52, 27)), (119.0, at(13, 52, 27))), 1.0)
    assert check.status == "unreliable" and check.start is None and "does not advance" in check.reason


def test_a_clock_that_jumps_is_not_used():
    check = check_advance(readings((1.0, at(13, 0)), (300.0, at(14, 5, 0)), (600.0, at(15, 10, 0))), 60.0)
    assert check.status == "unreliable"


def test_one_misread_frame_is_outvoted_two_are_not():
    good = [(1.0, at(13, 52, 28)), (30.0, at(13, 52, 57)), (60.0, at(13, 53, 27))]
    check = check_advance(readings(*good, (90.0, at(13, 58, 57))), 1.0)  # 13:53:57 misread as 13:58:57
    assert check.status == "reliable" and check.agreeing == 3 and check.readings[3]["time"] is None
    check = check_advance(readings(*good[:2], (60.0, at(13, 58, 27)), (90.0, at(13, 59, 57))), 1.0)
    assert check.status == "unreliable"


def test_the_right_candidate_of_a_frame_is_the_one_that_agrees():
    frames = readings((0.5, at(13, 52, 27)), (9.9, at(13, 52, 37)))
    frames.insert(1, ClockReading(5.2, "", [(at(13, 52, 37), 0.95), (at(13, 52, 32), 0.8)]))  # one picture misread 32 as 37
    check = check_advance(frames, 1.0)
    assert check.status == "reliable" and check.agreeing == 3 and check.readings[1]["time"].startswith("2021-08-06T13:52:32")


def test_a_minute_clock_is_checked_within_its_minute():
    check = check_advance(readings((1.0, at(13, 52)), (61.0, at(13, 53)), (121.0, at(13, 54))), 60.0)
    assert check.status == "reliable" and check.uncertainty <= 30
    assert abs(check.start.timestamp() - at(13, 52).timestamp()) <= 60
    frozen = readings(*[(t, at(13, 52)) for t in (1.0, 60.5, 120.0, 179.5, 239.0)])  # 5 frames over 4 minutes
    assert check_advance(frozen, 60.0).status == "unreliable"


def test_nothing_or_one_reading():
    assert check_advance(readings((0.5, None), (5.0, None)), 1.0).status == "unreadable"
    assert check_advance(readings((0.5, at(13, 52, 27)), (5.0, None), (9.0, None)), 1.0).status == "unreliable"
    assert check_advance([], 1.0).status == "unreadable"
