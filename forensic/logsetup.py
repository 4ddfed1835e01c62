"""The command line's logging: text or JSON lines on stderr and in --log-file (names from outside shown
as escapes, never breaking a line), and the checks before appending to a --log-file."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path

from forensic.errors import ForensicError
from forensic.files import inside
from forensic.printable import printable
from forensic.settings import Settings


class JsonFormatter(logging.Formatter):
    """One JSON object per line; control characters in the message and fields shown as escapes (\\n, \\x1b),
    as in the text format, so a file name reads the same in both."""

    def format(self, record):
        out = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname.lower(),
               "logger": record.name, "message": printable(record.getMessage())}
        out.update({k: printable(v) if isinstance(v, str) else v for k, v in getattr(record, "fields", {}).items()})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, one line per record: a newline or escape sequence in the message (a
    file name) is shown as \\n, \\x1b and cannot forge another record. A traceback keeps its lines."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record):
        record.message = printable(record.message)
        return super().formatMessage(record)


def index_root(index: Path | None) -> Path:
    """The index folder as Settings will name it (--index, $FORENSIC_INDEX or the default)."""
    return Path(index or os.environ.get("FORENSIC_INDEX") or Settings.index).expanduser()


LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: ")


def check_log_file(path: Path, index_root: Path, force: bool) -> None:
    """--log-file appends, so a forensic log of earlier runs (text or JSON lines) is continued; any other
    existing file is refused unless --force, and a file inside the index folder always."""
    if inside(path, index_root):
        raise ForensicError(f"--log-file {path} is inside the index folder {index_root}: only the index writes there; "
                            "keep the log elsewhere")
    if path.is_dir():
        raise ForensicError(f"--log-file {path} is a folder: give a file name")
    if force or not path.is_file() or path.stat().st_size == 0:
        return
    try:
        with open(path, "rb") as f:
            first = f.readline(65536).decode("utf-8").rstrip("\n")
    except (OSError, UnicodeDecodeError):
        first = ""
    if LOG_LINE.match(first):
        return
    try:
        record = json.loads(first)
    except ValueError:
        record = None
    if not (isinstance(record, dict) and {"time", "level", "logger", "message"} <= record.keys()):
        raise ForensicError(f"--log-file {path} already exists and is not a forensic log: give a new file name, "
                            "or --force to append to it")


def setup_logging(level: int, own_level: int, log_file: Path | None, log_format: str) -> None:
    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError as e:
            raise ForensicError(f"cannot open log file {log_file}: {e.strerror}") from None
    root = logging.getLogger()
    for h in handlers:
        h.setFormatter(formatter)
        root.addHandler(h)
    root.setLevel(level)
    logging.getLogger("forensic").setLevel(own_level)
