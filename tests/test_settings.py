"""Settings: defaults, then FORENSIC_* variables, then explicit overrides; bad values are one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensic.errors import ForensicError
from forensic.settings import Settings


def test_defaults_without_environment():
    s = Settings.from_env({})
    assert s == Settings()
    assert s.models is None and s.download is False and s.clip == "auto"


def test_values_from_the_environment_are_converted():
    s = Settings.from_env({
        "FORENSIC_FPS": "3.5", "FORENSIC_IMGSZ": "416", "FORENSIC_CONF": "0.4", "FORENSIC_BATCH": "2",
        "FORENSIC_DOWNLOAD": "yes", "FORENSIC_MODELS": "~/weights", "FORENSIC_INDEX": "/srv/idx",
        "FORENSIC_DEVICE": "cpu", "FORENSIC_CLIP": "off", "FORENSIC_SETTLE": "0",
    })
    assert (s.fps, s.imgsz, s.conf, s.batch, s.settle) == (3.5, 416, 0.4, 2, 0.0)
    assert isinstance(s.imgsz, int) and isinstance(s.fps, float)
    assert s.download is True and s.device == "cpu" and s.clip == "off"
    assert s.models == Path.home() / "weights"  # ~ expanded
    assert s.index == Path("/srv/idx")


@pytest.mark.parametrize("raw, value", [("1", True), ("true", True), ("ON", True), ("0", False), ("no", False), ("Off", False)])
def test_boolean_spellings(raw, value):
    assert Settings.from_env({"FORENSIC_DOWNLOAD": raw}).download is value


def test_only_the_prefix_counts_and_empty_values_are_unset():
    s = Settings.from_env({"FPS": "abc", "IMGSZ": "1", "forensic_fps": "abc", "FORENSIC_FPS": "", "FORENSIC_INDEX": ""})
    assert s.fps == Settings().fps and s.index == Settings().index


def test_explicit_overrides_beat_the_environment_and_none_means_unset():
    env = {"FORENSIC_FPS": "3", "FORENSIC_IMGSZ": "416"}
    s = Settings.from_env(env, fps=1.0, imgsz=None, index="~/idx")
    assert s.fps == 1.0 and s.imgsz == 416 and s.index == Path.home() / "idx"
    assert s.with_(conf=0.5, fps=None).conf == 0.5 and s.with_(fps=None).fps == 1.0


@pytest.mark.parametrize("name, raw", [
    ("FORENSIC_FPS", "abc"),
    ("FORENSIC_FPS", "2fps"),
    ("FORENSIC_IMGSZ", "4.5"),
    ("FORENSIC_IMGSZ", "big"),
    ("FORENSIC_BATCH", "x"),
    ("FORENSIC_CONF", "high"),
    ("FORENSIC_DOWNLOAD", "maybe"),
    ("FORENSIC_SETTLE", "2 minutes"),
])
def test_a_value_of_the_wrong_type_names_the_variable(name, raw):
    with pytest.raises(ForensicError) as e:
        Settings.from_env({name: raw})
    assert name in str(e.value) and raw in str(e.value)


@pytest.mark.parametrize("env, word", [
    ({"FORENSIC_FPS": "0"}, "--fps"),
    ({"FORENSIC_FPS": "-1"}, "--fps"),
    ({"FORENSIC_FPS": "120"}, "--fps"),
    ({"FORENSIC_FPS": "inf"}, "--fps"),
    ({"FORENSIC_CONF": "1.5"}, "--conf"),
    ({"FORENSIC_CONF": "0"}, "--conf"),
    ({"FORENSIC_CONF": "nan"}, "--conf"),
    ({"FORENSIC_IMGSZ": "100"}, "--imgsz"),  # not a multiple of 32
    ({"FORENSIC_IMGSZ": "32"}, "--imgsz"),  # too small
    ({"FORENSIC_CLIP": "sometimes"}, "clip"),
    ({"FORENSIC_BATCH": "0"}, "batch"),
])
def test_values_out_of_range_are_refused(env, word):
    with pytest.raises(ForensicError, match=word):
        Settings.from_env(env)


def test_out_of_range_override_is_refused_too():
    with pytest.raises(ForensicError, match="--imgsz"):
        Settings.from_env({}, imgsz=300)


def test_nan_fps_is_refused():
    """NaN passes `fps <= 0 or fps > 60`; it must be refused like any other out-of-range value."""
    with pytest.raises(ForensicError, match="--fps"):
        Settings.from_env({"FORENSIC_FPS": "nan"})
