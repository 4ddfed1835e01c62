"""samples/demo.sh on a machine without ffmpeg: one line at the start says what to install, and no
warning comes in the middle of the demo (the forensic binary is a stand-in that records its arguments)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _demo(tmp_path: Path, with_ffmpeg: bool) -> tuple[str, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "printf", "cat"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    if with_ffmpeg:
        for tool in ("ffmpeg", "ffprobe"):
            (bin_dir / tool).write_text("#!/bin/sh\n")
            (bin_dir / tool).chmod(0o755)
    calls = tmp_path / "calls"
    fake = tmp_path / "forensic"
    fake.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\n')
    fake.chmod(0o755)
    env = {"PATH": str(bin_dir), "FORENSIC_BIN": str(fake), "HOME": str(tmp_path)}
    out = subprocess.run([shutil.which("bash"), str(ROOT / "samples" / "demo.sh"), str(tmp_path / "footage")],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return out.stdout, calls.read_text().splitlines()


def test_without_ffmpeg_the_demo_says_what_to_install_once_at_the_start(tmp_path):
    stdout, calls = _demo(tmp_path, with_ffmpeg=False)
    notes = [line for line in stdout.splitlines() if "ffmpeg" in line and not line.startswith("$ ")]
    assert len(notes) == 1 and "apt install ffmpeg" in notes[0] and stdout.splitlines()[0] == notes[0]
    (report,) = [c for c in calls if "--html" in c]
    assert " -q" in report  # the report's "decoding slowly without ffmpeg" warning is already said above


def test_with_ffmpeg_nothing_is_said(tmp_path):
    stdout, calls = _demo(tmp_path, with_ffmpeg=True)
    assert not [line for line in stdout.splitlines() if "ffmpeg" in line and not line.startswith("$ ")]
    assert calls[0].startswith("index ") and not any(" -q" in c for c in calls)
