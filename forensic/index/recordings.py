"""Is a recording still the one that was indexed? Each video row keeps the full SHA-256 of the file and a
sampled one (forensic.files), hashed while it was indexed. `show`, `export` and `index` compare the full
hash and refuse a recording that changed (replaced at the same path, or edited with its size and time
kept), naming both hashes; `verify` checks every recording, fully or (`fast`) by size, time and sampled
blocks only. A video indexed before fingerprints existed has none: it is reported as "no fingerprint",
never as unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from forensic.errors import IntegrityError
from forensic.files import Content, sampled_sha256, sha256_file

NO_FINGERPRINT = "no fingerprint (indexed before recordings were hashed): cannot tell whether it changed"


def indexed_hash(row) -> str | None:
    """The full SHA-256 a video row recorded (None: no fingerprint, or an index from before them)."""
    return row["sha256"] if row is not None and "sha256" in row.keys() else None


@dataclass(frozen=True)
class RecordingCheck:
    path: str
    state: str  # same | changed | missing | unreadable | no fingerprint
    indexed: str | None = None  # SHA-256 when indexed
    now: str | None = None  # SHA-256 now (full check), or the sampled one (fast check)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "same"

    def line(self) -> str:
        if self.state == "changed":
            return changed_line(self.path, self.indexed, self.now, self.detail)
        if self.state == "no fingerprint":
            return f"{self.path}: {NO_FINGERPRINT}"
        return f"{self.path}: {self.state}{': ' + self.detail if self.detail else ''}"


def changed_line(path, indexed: str | None, now: str | None, how: str = "") -> str:
    return (f"{path} changed since it was indexed (replaced or edited{', ' + how if how else ''}): "
            f"sha256 {indexed} when indexed, {now} now")


def check(row, *, fast: bool = False, content: Content | None = None) -> RecordingCheck:
    """Compare the recording of a video row with what was hashed when it was indexed. `content`: its hash
    already computed (no second read). `fast`: size, modification time and the sampled blocks only (a
    replaced file or a changed length is seen; an edit between the sampled blocks is not)."""
    path = Path(row["path"])
    indexed, sampled = indexed_hash(row), (row["sampled_sha256"] if "sampled_sha256" in row.keys() else None)
    if indexed is None:
        return RecordingCheck(str(path), "no fingerprint")
    try:
        if content is not None:
            return _compare(path, indexed, content.sha256)
        st = path.stat()
        if not fast:
            return _compare(path, indexed, sha256_file(path))
        if st.st_size != row["size"]:
            return RecordingCheck(str(path), "changed", indexed, None, f"size {row['size']} then, {st.st_size} now")
        now = sampled_sha256(path)
        if now != sampled:
            return RecordingCheck(str(path), "changed", sampled, now, "sampled blocks differ")
        if abs(st.st_mtime - row["mtime"]) > 1e-6:
            return RecordingCheck(str(path), "same", indexed, None, "sampled blocks match; modification time changed")
        return RecordingCheck(str(path), "same", indexed)
    except FileNotFoundError:
        return RecordingCheck(str(path), "missing", indexed, None, "not there any more (moved or deleted?)")
    except OSError as e:
        return RecordingCheck(str(path), "unreadable", indexed, None, e.strerror or str(e))


def _compare(path: Path, indexed: str, now: str) -> RecordingCheck:
    return RecordingCheck(str(path), "same" if now == indexed else "changed", indexed, now)


def refuse_if_changed(row, content: Content, doing: str) -> str | None:
    """Raise IntegrityError (one line naming both hashes) when `content` is not the indexed recording; returns
    a note when the index holds no fingerprint of it (None when it matches)."""
    if row is None:
        return None
    result = check(row, content=content)
    if result.state == "changed":
        raise IntegrityError(f"{result.line()}: refusing to {doing}")
    return f"{result.path}: {NO_FINGERPRINT}" if result.state == "no fingerprint" else None
