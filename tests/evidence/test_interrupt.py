"""Issue 11: SIGTERM (or Ctrl-C) during an export left an orphaned ffmpeg and a half-written folder that a rerun
refused ("already exists and is not empty"). Now the export is written into a hidden work folder beside the target
and renamed into place only when complete; a signal stops ffmpeg (killed and waited for), removes the work folder
and exits 128 + the signal with one line. The real command line runs in a subprocess on the synthetic index; its
ffmpeg is a stand-in on PATH (the seam: forensic.tools.find_tool) that sleeps instead of cutting a clip, so the
signal always lands while ffmpeg runs."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evidencedata import cli
from forensic.evidence.export import verify_export
from forensic.files import PARTIAL
from realdata import REPO

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (CI installs it)")

# ffmpeg as the export finds it on PATH: the real one for everything but cutting a clip (its last argument is the
# clip file), where it writes its pid and sleeps, as a long cut of a large recording would
SLOW_FFMPEG = """#!/bin/sh
for last; do :; done
case "$last" in
  *-clip.*) echo $$ > "{pidfile}"; exec sleep 600 ;;
esac
exec "{ffmpeg}" "$@"
"""


def slow_ffmpeg_path(tmp_path: Path) -> tuple[str, Path]:
    """(PATH with the stand-in ffmpeg and the real ffprobe, the file the stand-in writes its pid to)."""
    folder = tmp_path / "bin-slow-ffmpeg"
    folder.mkdir()
    pidfile = tmp_path / "ffmpeg.pid"
    script = folder / "ffmpeg"
    script.write_text(SLOW_FFMPEG.format(pidfile=pidfile, ffmpeg=shutil.which("ffmpeg")))
    script.chmod(0o700)
    (folder / "ffprobe").symlink_to(shutil.which("ffprobe"))
    return f"{folder}{os.pathsep}{os.environ.get('PATH', os.defpath)}", pidfile


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def partials(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}{PARTIAL}*"))


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_export_stops_ffmpeg_and_leaves_nothing(tmp_path, stub_evidence_index, car_hit, signum, code):
    out = tmp_path / "case-7"
    path, pidfile = slow_ffmpeg_path(tmp_path)
    env = dict(os.environ, PATH=path, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    env = {k: v for k, v in env.items() if not k.startswith("FORENSIC_")}
    proc = subprocess.Popen([sys.executable, "-m", "forensic", "-q", "--index", str(stub_evidence_index), "export", str(car_hit),
                             "--out", str(out), "--before", "0.5", "--after", "0.5"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ffmpeg = None
    try:
        deadline = time.monotonic() + 120
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert proc.poll() is None, f"the export ended before cutting: {proc.communicate()}"
            assert time.monotonic() < deadline, "the export never started ffmpeg"
            time.sleep(0.05)
        ffmpeg = int(pidfile.read_text())
        assert alive(ffmpeg)
        assert not out.exists() and len(partials(out)) == 1  # the export is written beside the target, hidden
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if ffmpeg is not None and alive(ffmpeg):
            os.kill(ffmpeg, signal.SIGKILL)  # only the stand-in this test started, by its pid
            pytest.fail(f"ffmpeg (pid {ffmpeg}) outlived the export")
    assert proc.returncode == code, stderr
    assert stderr.splitlines() == [f"forensic: export interrupted by {signal.Signals(signum).name}: ffmpeg stopped, "
                                   f"nothing written at {out} (run it again)"]
    assert stdout == ""
    assert not out.exists() and partials(out) == []

    again = cli("--index", str(stub_evidence_index), "export", str(car_hit), "--out", str(out), "--before", "0.5", "--after", "0.5")
    assert again.exit_code == 0, again.output
    assert verify_export(out).ok and partials(out) == []


def test_a_folder_left_by_a_killed_export_is_removed_by_the_next_one_but_a_live_one_is_kept(tmp_path, stub_evidence_index, car_hit):
    """kill -9 or a power cut leaves the hidden work folder (no process can clean up after them), never the target."""
    out = tmp_path / "case-8"
    killed = tmp_path / f".case-8{PARTIAL}killed00"
    killed.mkdir()
    (killed / "hit-1-clip.mp4").write_bytes(b"half a clip")
    live = tmp_path / f".case-8{PARTIAL}running0"
    live.mkdir()
    other = tmp_path / f".case-80{PARTIAL}another0"  # another target's
    other.mkdir()
    lock = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running export holds its work folder
        result = cli("--index", str(stub_evidence_index), "export", str(car_hit), "--out", str(out), "--before", "0.5", "--after", "0.5")
    finally:
        os.close(lock)
    assert result.exit_code == 0, result.output
    assert not killed.exists() and live.is_dir() and other.is_dir()
    assert verify_export(out).ok


def test_an_existing_empty_folder_is_filled_in_one_step(tmp_path, stub_evidence_index, car_hit):
    out = tmp_path / "case-9"
    out.mkdir()
    result = cli("--index", str(stub_evidence_index), "export", str(car_hit), "--out", str(out), "--before", "0.5", "--after", "0.5")
    assert result.exit_code == 0, result.output
    assert verify_export(out).ok and (out.stat().st_mode & 0o777) == 0o700 and partials(out) == []


def test_a_failed_export_leaves_nothing(tmp_path, stub_evidence_index, car_hit):
    """ffmpeg failing half-way (here: it cannot write the clip) removes the work folder too."""
    out = tmp_path / "case-10"
    bin_ = tmp_path / "bin-failing-ffmpeg"
    bin_.mkdir()
    script = bin_ / "ffmpeg"
    script.write_text(f'#!/bin/sh\nfor last; do :; done\ncase "$last" in *-clip.*) echo "disk full" >&2; exit 1 ;; esac\n'
                      f'exec "{shutil.which("ffmpeg")}" "$@"\n')
    script.chmod(0o700)
    (bin_ / "ffprobe").symlink_to(shutil.which("ffprobe"))
    result = cli("--index", str(stub_evidence_index), "export", str(car_hit), "--out", str(out), "--before", "0.5", "--after", "0.5",
                 env={"PATH": f"{bin_}{os.pathsep}{os.environ.get('PATH', os.defpath)}"})
    assert result.exit_code == 2 and "ffmpeg failed on cutting" in result.stderr and "disk full" in result.stderr
    assert not out.exists() and partials(out) == []
