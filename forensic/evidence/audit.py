"""The audit log: who searched for what, when, what came back and what was exported.

One JSON line per search, show and export, appended to audit.jsonl in the index folder (0600).
Entries are chained: each holds its sequence number, the hash of the entry before it ("prev") and
its own hash (SHA-256 of its canonical JSON without "hash"); audit.head keeps the last sequence
number and hash. Editing a line breaks its hash, deleting one breaks the next line's "prev" and the
sequence, deleting the last lines no longer reaches the head. Appends hold an exclusive flock on
the log, so concurrent searches cannot fork the chain.

Limit: the chain has no secret key. It reveals accidents and naive edits, not someone with write
access who recomputes every hash; `forensic audit` prints the head hash so it can be written into
the case file (or sent elsewhere), which pins the log as it was.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from forensic import __version__
from forensic.errors import AuditError
from forensic.files import write_private

LOG_NAME = "audit.jsonl"
HEAD_NAME = "audit.head"
GENESIS = "0" * 64


def whoami() -> dict:
    """The OS user running forensic (from the process's uid, not from $USER) and the machine."""
    try:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        user = getpass.getuser()
    return {"user": user, "uid": os.getuid(), "host": socket.gethostname()}


def canonical(entry: dict) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


@dataclass
class AuditCheck:
    ok: bool
    entries: int  # lines read
    head: str | None  # hash of the last good entry
    bad_line: int | None = None  # 1-based number of the first bad line (None: the problem is the head)
    reason: str | None = None


def for_index(root: Path) -> "AuditLog":
    """The audit log of an index: audit.jsonl in its folder; for a read-only index (searched in read-only mode,
    where nothing can be written) a chained log of its own in the user's state folder, named after the index
    (~/.local/state/forensic/read-only-audit/<hash of its path>/), whose entries name the index."""
    from forensic.index.store import writable

    root = Path(root)
    if not root.is_dir() or writable(root):
        return AuditLog(root)
    real = os.path.realpath(root)
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "forensic" / "read-only-audit"
    folder = state / hashlib.sha256(real.encode()).hexdigest()[:16]
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise AuditError(f"index {root} is read-only and no audit log can be kept for it in {state}: {e.strerror}") from None
    log = AuditLog(folder, extra={"index": real, "read_only": True})
    import logging

    logging.getLogger(__name__).warning("index %s is read-only: its audit entries go to %s", root, log.path)
    return log


class AuditLog:
    def __init__(self, root: Path, extra: dict | None = None):
        self.root = Path(root)
        self.path = self.root / LOG_NAME
        self.head_path = self.root / HEAD_NAME
        self.extra = extra or {}  # put in every entry (a read-only index's own log: which index)

    def append(self, record: dict, who: dict | None = None) -> dict:
        """Add one entry (time and OS user are filled in); returns it with its seq and hash."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as e:
            raise AuditError(f"cannot write the audit log {self.path}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            seq, prev = self._head(fd)
            entry = {"seq": seq + 1, "time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
                     **(who or whoami()), "pid": os.getpid(), "version": __version__, **self.extra, **record, "prev": prev}
            entry["hash"] = entry_hash(entry)
            data = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode("utf-8")
            if os.fstat(fd).st_size and os.pread(fd, 1, os.fstat(fd).st_size - 1) != b"\n":
                data = b"\n" + data  # a torn last line stays a line of its own (verify reports it)
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
            write_private(self.head_path, json.dumps({"seq": entry["seq"], "hash": entry["hash"]}).encode())
            from forensic.index.store import record_audit_head

            record_audit_head(self.root, entry["seq"], entry["hash"])  # under the lock: the database's copy only grows
            return entry
        except OSError as e:
            raise AuditError(f"cannot write the audit log {self.path}: {e.strerror}") from None
        finally:
            os.close(fd)  # releases the lock

    def _head(self, fd: int) -> tuple[int, str]:
        """Where the chain goes on: audit.head (so a deleted last line stays a visible gap), else the last line."""
        try:
            head = json.loads(self.head_path.read_text())
            return int(head["seq"]), str(head["hash"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        last = None
        for last in self._lines(fd):
            pass
        if last is None:
            return 0, GENESIS
        try:
            entry = json.loads(last)
            return int(entry["seq"]), str(entry["hash"])
        except (ValueError, KeyError, TypeError):
            raise AuditError(f"the audit log {self.path} is damaged at its end and {HEAD_NAME} is missing: "
                                "run 'forensic audit --verify', keep the file aside and start a new one") from None

    def _lines(self, fd: int) -> Iterator[str]:
        with open(os.dup(fd), "rb") as f:
            f.seek(0)
            for raw in f:
                if raw.strip():
                    yield raw.decode("utf-8", "replace").rstrip("\n")

    def entries(self) -> Iterator[dict]:
        """Every entry that parses (for printing; `verify` judges them)."""
        if not self.path.exists():
            return
        try:
            f = open(self.path, "rb")
        except OSError as e:
            raise AuditError(f"cannot read the audit log {self.path}: {e.strerror}") from None
        with f:
            for raw in f:
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue

    def find_last(self, match: Callable[[dict], bool]) -> dict | None:
        found = None
        for e in self.entries():
            if match(e):
                found = e
        return found

    def verify(self, recorded: tuple[int, str] | None | bool = True) -> AuditCheck:
        """Walk the chain; report the first line that is not what the chain says it should be. `recorded`: the
        (seq, hash) the index database keeps of the last entry (True: read it from the index), so a log cut short
        with audit.head rewritten to match, or deleted with it, is still found."""
        if recorded is True:
            from forensic.index.store import recorded_audit_head

            recorded = recorded_audit_head(self.root)
        if not self.path.exists():
            if self.head_path.exists():
                return AuditCheck(False, 0, None, None, f"{LOG_NAME} is missing but {HEAD_NAME} says entries were written")
            if recorded:
                return AuditCheck(False, 0, None, None, f"{LOG_NAME} is missing but the index database recorded {recorded[0]} "
                                                        "entries (the log was deleted)")
            return AuditCheck(True, 0, None)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # not while an append is half-way
            with open(os.dup(fd), "rb") as f:
                raw_lines = f.read().split(b"\n")
            head_text = self.head_path.read_text() if self.head_path.exists() else None
        finally:
            os.close(fd)
        prev, seq, n = GENESIS, 0, 0
        hashes: dict[int, str] = {}
        for n, raw in enumerate(raw_lines, 1):
            if not raw.strip():
                if n == len(raw_lines):
                    n -= 1
                    break
                return AuditCheck(False, n, prev, n, f"line {n} is empty (a line was removed or damaged)")
            try:
                entry = json.loads(raw)
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
            except ValueError:
                return AuditCheck(False, n, prev, n, f"line {n} is not a JSON entry (damaged or edited)")
            if entry.get("hash") != entry_hash(entry):
                return AuditCheck(False, n, prev, n, f"line {n} (seq {entry.get('seq')}) was changed: its hash does not match its content")
            if entry.get("prev") != prev or entry.get("seq") != seq + 1:
                return AuditCheck(False, n, prev, n, f"line {n} (seq {entry.get('seq')}) does not follow the entry before it "
                                                     f"(expected seq {seq + 1}): an entry before it was deleted or replaced")
            prev, seq = entry["hash"], entry["seq"]
            hashes[seq] = prev
        try:
            head = json.loads(head_text) if head_text is not None else None
            head_seq, head_hash = (int(head["seq"]), head["hash"]) if head is not None else (None, None)
        except (ValueError, KeyError, TypeError):
            return AuditCheck(False, n, prev, None, f"{HEAD_NAME} is damaged")
        if head_seq is None:
            return AuditCheck(seq == 0, n, prev, None, None if seq == 0 else f"{HEAD_NAME} is missing (deleted?)")
        if (head_seq, head_hash) != (seq, prev):
            if head_seq > seq:
                why = f"the log ends at seq {seq} but {HEAD_NAME} says {head_seq}: the last {head_seq - seq} entries were deleted"
            else:
                why = f"the log goes on past {HEAD_NAME} (seq {head_seq}) to seq {seq}: entries were added by hand or an append was cut short"
            return AuditCheck(False, n, prev, None, why)
        if recorded and recorded[0] > seq:
            return AuditCheck(False, n, prev, None, f"the log ends at seq {seq} but the index database recorded {recorded[0]} entries: "
                                                    f"the last {recorded[0] - seq} were removed (and {HEAD_NAME} rewritten to match)")
        if recorded and hashes.get(recorded[0]) != recorded[1]:
            return AuditCheck(False, n, prev, None, f"entry {recorded[0]} is not the one the index database recorded: the log was rewritten")
        return AuditCheck(True, n, prev)
