"""Names from outside reach the terminal, the logs and the audit tail as they are, on one line (issue 11,
item 8): rich markup in a folder name (`[red]cam9`) is shown, not obeyed; a newline or an escape sequence in
a file name is shown as `\\n` / `\\x1b` and cannot forge a log line or an audit-tail line. On a synthetic
recording indexed through the command line with the stub detector (tests/builders.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from builders import SCENE, StubDetector, stub_models, write_video
from forensic.printable import printable
from realdata import run_cli as run

FAST = ["--fps", "1", "--imgsz", "320", "--device", "cpu", "--backend", "torch"]
FORGED = "2026-12-02 02:00:00,000 ERROR forensic: audit log deleted by admin"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")


def test_printable_escapes_controls_only():
    assert printable("a\nb\x1b[31mc\u202ed\re\x85") == "a\\nb\\x1b[31mc\\u202ed\\re\\x85"
    assert printable("[red]cam9 Trực Cát ngã tư.mp4") == "[red]cam9 Trực Cát ngã tư.mp4"


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    """A recording in the folder `[red]cam9`, under a name with a newline, a forged log line and a
    terminal escape, indexed with a text --log-file and a JSON one."""
    import forensic.api
    import forensic.models

    root = tmp_path_factory.mktemp("evil")
    folder = root / "[red]cam9"
    video = write_video(folder / f"cut\n{FORGED}\x1b[2J.mp4", SCENE["cam1"])
    logs = {fmt: root / f"index-{fmt}.log" for fmt in ("text", "json")}
    detector = StubDetector(SCENE["cam1"])
    with pytest.MonkeyPatch.context() as patch:  # the detector seam, as the stub_detector fixture sets it
        for module in (forensic.models, forensic.api):
            patch.setattr(module, "build_models", lambda settings: stub_models(detector))
        for n, (fmt, log) in enumerate(logs.items()):
            result = run("--index", str(root / f"idx{n}"), "--log-file", str(log), "--log-format", fmt, "index", *FAST, str(video))
            assert result.exit_code == 0, result.output
            assert FORGED not in result.stderr.splitlines() and "\x1b" not in result.stderr
    assert detector.calls > 0
    return root, video, logs


def test_log_lines_cannot_be_forged_by_a_file_name(evil):
    root, video, logs = evil
    text = logs["text"].read_text().splitlines()
    assert text and all(LOG_LINE.match(line) for line in text), text
    assert any("cut\\n2026-12-02 02:00:00,000 ERROR forensic: audit log deleted by admin\\x1b[2J.mp4" in line for line in text)
    records = [json.loads(line) for line in logs["json"].read_text().splitlines()]
    done = [r for r in records if r.get("event") == "done"]
    assert len(done) == 1 and "\n" not in done[0]["message"] and "\x1b" not in done[0]["path"]
    assert done[0]["path"].endswith("cut\\n" + FORGED + "\\x1b[2J.mp4")


def test_the_table_shows_names_as_they_are(evil):
    root, video, _ = evil
    result = run("--index", str(root / "idx0"), "search", "car")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "[red]cam9" in out  # the camera (its folder's name) as it is: markup not obeyed, not dropped
    assert "\x1b" not in out and FORGED not in out.splitlines()
    assert "cut\\n" in out  # the newline shown, not obeyed
    listing = run("--index", str(root / "idx0"), "cameras")
    assert "[red]cam9" in listing.stdout and "\x1b" not in listing.stdout
    assert not any(line.startswith(FORGED[:10]) for line in listing.stdout.splitlines())


def test_audit_tail_lines_cannot_be_forged(evil, tmp_path):
    root, video, _ = evil
    forged_entry = "#99 2026-12-02T02:00:00 admin@host search \"nothing\" -> 0 hits"
    report = tmp_path / f"r\n{forged_entry}.html"
    result = run("--index", str(root / "idx0"), "search", f"car\n{forged_entry}", "--html", str(report))
    assert result.exit_code == 0, result.output
    assert "\n" + forged_entry not in result.stderr
    tail = run("--index", str(root / "idx0"), "audit", "--tail", "1")
    lines = tail.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("#") and lines[1].startswith("1 entries"), lines
    assert forged_entry not in lines and "car\\n#99" in lines[0] and "\x1b" not in tail.stdout
