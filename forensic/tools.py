"""Running ffmpeg and ffprobe: found on PATH, run with argument lists (never a shell), local files only.

A primitive: used by forensic.timestamps (a recording's creation time) and forensic.evidence.media
(frame times, clips), which sit in different layers.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from forensic.errors import ForensicError

log = logging.getLogger(__name__)

INSTALL_HINT = "install the 'ffmpeg' package (Debian/Ubuntu: apt install ffmpeg; Fedora: dnf install ffmpeg; macOS: brew install ffmpeg)"


class ToolMissing(ForensicError):
    """ffmpeg or ffprobe is not on PATH."""


class MediaError(ForensicError):
    """ffmpeg or ffprobe could not read or write a file."""


def find_tool(name: str) -> str:
    """Absolute path of `name` on $PATH (the seam: tests run with a PATH that lacks it)."""
    found = shutil.which(name, path=os.environ.get("PATH", os.defpath))
    if found is None:
        raise ToolMissing(f"{name} not found on PATH: {INSTALL_HINT}")
    return found


def have_tools() -> bool:
    try:
        find_tool("ffmpeg")
        find_tool("ffprobe")
        return True
    except ToolMissing:
        return False


def file_url(path: Path | str) -> str:
    """'file:' + absolute path: ffmpeg never reads it as a protocol, an option or stdin."""
    return "file:" + os.path.abspath(path)


_running: set[subprocess.Popen] = set()  # the tools running now, for stop_all

# Inputs are local files only: no network protocol, even one named inside a playlist.
LOCAL_ONLY = ["-protocol_whitelist", "file"]


def run_tool(name: str, args: list[str], what: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg/ffprobe with an argument list; a failure becomes one line naming `what`."""
    cmd = [find_tool(name), *args]
    log.debug("running %s", cmd)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _running.add(proc)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException as e:  # a timeout, or SIGTERM/Ctrl-C raised here (forensic.errors.interruptible)
        stop(proc)
        if isinstance(e, subprocess.TimeoutExpired):
            raise MediaError(f"{name} took longer than {timeout:.0f} s on {what}") from None
        raise
    finally:
        _running.discard(proc)
    done = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        raise MediaError(f"{name} failed on {what}: {lines[-1].strip() if lines else f'exit code {done.returncode}'}")
    return done


def stop_all() -> None:
    """Kill every ffmpeg/ffprobe this process is running, in any thread (forensic.errors.interruptible calls
    it when SIGTERM or Ctrl-C comes; each run_tool then waits for its own)."""
    for proc in list(_running):
        try:
            proc.kill()
        except OSError:
            pass


def stop(proc: subprocess.Popen) -> None:
    """End a child that must not outlive its command: killed (what it was writing is discarded by the
    caller) and waited for, so no ffmpeg is left running or as a zombie."""
    try:
        proc.kill()
    except OSError:
        pass  # it had already ended
    proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
