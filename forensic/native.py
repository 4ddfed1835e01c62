"""Native libraries' own messages (OpenCV and the ffmpeg inside it) stay off the terminal: they print
straight to stderr, past Python's logging, and would break `-q` and the progress bar. Set before OpenCV
first opens a video (the ffmpeg backend reads its level once); `-vv` lets them through for a bug report."""

from __future__ import annotations

import os
import sys


def quiet_native_logs(verbose: bool = False) -> None:
    """OpenCV logs errors only (nothing with `verbose` False: its warnings about a damaged file are
    reported by forensic in one line); ffmpeg inside OpenCV says nothing (AV_LOG_QUIET)."""
    if verbose:
        os.environ.setdefault("OPENCV_LOG_LEVEL", "INFO")
        return
    os.environ["OPENCV_LOG_LEVEL"] = "ERROR"
    os.environ["OPENCV_FFMPEG_LOGLEVEL"] = "-8"  # AV_LOG_QUIET: decoder complaints about a broken frame
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and hasattr(cv2, "setLogLevel"):
        try:
            cv2.setLogLevel(2)  # ERROR: OpenCV was imported already (a host program): its level now
        except Exception:  # noqa: BLE001 - an OpenCV without the logging API
            pass
