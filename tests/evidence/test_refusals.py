"""Bad numbers and bad pictures get one clear line and exit 2, never a traceback, invalid JSON or NaN in
a manifest (issue 11, item 9): show --context nan, export --before nan, a 40000x40000 photo (refused from
its header, before decoding), clock_offset = 1e300 in the cameras file. On the synthetic index of the
stub detector (tests/builders.py), except the indexing run."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

from evidencedata import cli, error_lines
from realdata import TRUCCAT


def one_line(result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    (line,) = error_lines(result)
    assert all(w in line for w in words), line
    return line


def huge_png(path: Path, width: int = 40000, height: int = 40000) -> Path:
    """A valid PNG header for a huge picture with only its first rows of data: tiny on disk, gigabytes decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = zlib.compress(b"".join(b"\x00" + b"\x80" * (3 * width) for _ in range(4)))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_show_context_nan(tmp_path, stub_evidence_index, car_hit, value):
    out = tmp_path / "x.jpg"
    one_line(cli("--index", str(stub_evidence_index), "show", str(car_hit), "--context", value, "--out", str(out)), "--context")
    assert not out.exists()
    one_line(cli("--index", str(stub_evidence_index), "show", str(car_hit), "--context", "2", "--step", value, "--out", str(out)), "--context")


@pytest.mark.parametrize("option", ["--before", "--after"])
def test_export_before_nan(tmp_path, stub_evidence_index, car_hit, option):
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg is not installed (CI installs it)")
    out = tmp_path / "case"
    one_line(cli("--index", str(stub_evidence_index), "export", str(car_hit), "--out", str(out), option, "nan"), "--before and --after")
    assert not out.exists()  # no folder, no manifest with NaN in it


def huge_jpeg(path: Path, width: int = 40000, height: int = 40000) -> Path:
    """A JPEG header (JFIF, a comment, then the baseline frame header) for a huge picture, with no picture data."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comment = b"\xff\xfe" + struct.pack(">H", 7) + b"hello"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    path.write_bytes(b"\xff\xd8" + app0 + comment + sof + b"\xff\xd9")
    return path


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_a_40000_pixel_photo_is_refused_before_decoding(tmp_path, stub_evidence_index, monkeypatch, kind):
    import cv2

    from forensic.search import photo

    photo_file = (huge_png if kind == "png" else huge_jpeg)(tmp_path / f"suspect.{kind}")
    assert photo.photo_header_size(photo_file) == (40000, 40000)
    decoded = []
    monkeypatch.setattr(cv2, "imread", lambda *a, **k: decoded.append(a) or None)
    line = one_line(cli("--index", str(stub_evidence_index), "search", "--image", str(photo_file)), "too large", "40000x40000", "megapixels")
    assert f"suspect.{kind}" in line and not decoded
    with pytest.raises(Exception, match="too large"):
        photo.read_photo(photo_file)


@pytest.mark.slow
@pytest.mark.parametrize("offset", ["1e300", "nan", "inf", '"ten"'])
def test_clock_offset_out_of_range_is_one_line(tmp_path, footage, models_dir, offset):
    cameras = tmp_path / "cameras.toml"
    cameras.write_text(f'[[camera]]\nid = "truccat"\nmatch = ["*truccat*"]\nclock_offset = {offset}\n')
    (tmp_path / "truccat").mkdir()
    video = tmp_path / "truccat" / "a.mp4"
    video.symlink_to((footage / TRUCCAT).resolve())
    line = one_line(cli("--index", str(tmp_path / "idx"), "--cameras", str(cameras), "index", "--imgsz", "320", str(video),
                        env={"FORENSIC_MODELS": str(models_dir)}),
                    "clock_offset", "truccat")
    assert str(cameras) in line
