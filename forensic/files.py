"""File helpers shared by the index and the models: private atomic writes, cheap content identity, full
content hashes (in a background thread while the file is decoded elsewhere)."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from forensic.errors import ForensicError


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, atomically (temp file + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def fingerprint(path: Path, chunk: int = 1 << 20) -> str:
    """Identity of a large file without reading it all: its size plus a hash of its first and last MiB."""
    size = Path(path).stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(chunk))
        f.seek(max(0, size - chunk))
        h.update(f.read(chunk))
    return h.hexdigest()[:24]


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a whole file, read in chunks (recordings can be many GB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


SAMPLE_BLOCKS = 64  # the weaker, fast check: this many blocks, evenly spaced (the first and the last included)
SAMPLE_SIZE = 64 << 10


def sampled_sha256(path: Path) -> str:
    """SHA-256 of the file's size and SAMPLE_BLOCKS blocks of SAMPLE_SIZE bytes spread evenly over it: reads at
    most 4 MiB, so it sees a replaced file or a changed length, but not an edit between the blocks."""
    size = Path(path).stat().st_size
    h = hashlib.sha256(f"{size}:".encode())
    with open(path, "rb") as f:
        last = max(0, size - SAMPLE_SIZE)
        for k in range(SAMPLE_BLOCKS):
            h.update(os.pread(f.fileno(), SAMPLE_SIZE, last * k // (SAMPLE_BLOCKS - 1)))
    return h.hexdigest()


@dataclass(frozen=True)
class Content:
    """A file's content identity: the full SHA-256, the sampled one, and the size and modification time it had."""

    sha256: str
    sampled: str
    size: int
    mtime: float


class ContentHash:
    """Hash a file in a background thread (the full SHA-256 and the sampled one) while the caller reads it
    otherwise, e.g. an OpenCV decoder that cannot hand over the bytes it reads: both reads go through the
    page cache at about the same time. `result()` waits; it raises OSError when the file could not be read,
    and ChangedWhileHashed when its size or modification time changed meanwhile."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._out: Content | BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="forensic-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            before = os.stat(self.path)
            digest = sha256_file(self.path)
            sampled = sampled_sha256(self.path)
            after = os.stat(self.path)
            if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
                raise ChangedWhileHashed("changed while it was being read (size or modification time)")
            self._out = Content(digest, sampled, after.st_size, after.st_mtime)
        except BaseException as e:  # handed to result()
            self._out = e

    def result(self) -> Content:
        self._thread.join()
        if isinstance(self._out, BaseException):
            raise self._out
        return self._out


class ChangedWhileHashed(OSError):
    """The file's size or modification time changed while it was hashed."""


# -- outputs the user asks for (--html, --out, --log-file, export folders) --------------------------
def inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies under it, following symbolic links (of either)."""
    folder_real = os.path.realpath(folder)
    for p, f in ((os.path.realpath(path), folder_real), (os.path.abspath(path), os.path.abspath(folder))):
        if os.path.commonpath([p, f]) == f:
            return True
    return False


def check_output(path: Path, index_root: Path | None, *, force: bool = False, option: str = "--out") -> None:
    """Refuse an output file that would replace an existing file (unless `force`) or that lies inside the
    index folder (always: nothing but the index itself writes there). Raises ForensicError (one line)."""
    path = Path(path)
    if index_root is not None and inside(path, index_root):
        raise ForensicError(f"{option} {path} is inside the index folder {index_root}: only the index writes there; "
                            "write the file elsewhere")
    if path.is_dir():
        raise ForensicError(f"{option} {path} is a folder: give a file name")
    if (path.exists() or path.is_symlink()) and not force:
        raise ForensicError(f"{option} {path} already exists: give a new file name, or --force to replace it")


def write_new(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write an output file readable by its owner only, atomically, and never over an existing file
    unless `force` (the name is claimed with O_EXCL first, so a file that appeared since the checks is
    not replaced either). The temporary file has a unique name: no other file is touched."""
    import tempfile

    path = Path(path)
    claimed = False
    tmp = None
    try:
        if not force:
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                claimed = True
            except FileExistsError:
                raise ForensicError(f"{path} already exists: give a new file name, or --force to replace it") from None
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if claimed:
            path.unlink(missing_ok=True)
        if isinstance(e, OSError):  # a read-only folder, a full disk: one line, nothing left behind
            raise ForensicError(f"cannot write {path}: {e.strerror or e}") from None
        raise


# -- a folder written whole or not at all (export folders) ---------------------------------------------
PARTIAL = ".partial-"  # .NAME.partial-XXXXXXXX: the hidden work folder beside the folder NAME being written


def begin_folder(out: Path) -> tuple[Path, int]:
    """A new private (0700) work folder beside `out`, hidden (`.NAME.partial-XXXXXXXX`) and locked by this
    process (flock on the folder; the caller closes the lock when done). The caller writes everything into it,
    then publish_folder renames it to `out`, so `out` never holds half an export. Work folders beside the same
    `out` that no live process holds (left by a kill -9 or a power cut, which no process can clean up after)
    are removed first. Returns (work folder, its lock)."""
    import fcntl
    import glob
    import tempfile

    out = Path(os.path.abspath(out))
    if out.exists() and os.path.samefile(out, os.getcwd()):
        raise ForensicError(f"{out} is the current folder: give the name of a new folder for the export")
    try:
        out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for old in out.parent.glob(glob.escape(_partial_prefix(out)) + "*"):
            _remove_abandoned(old)
        work = Path(tempfile.mkdtemp(dir=out.parent, prefix=_partial_prefix(out)))  # 0700
        lock = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        raise ForensicError(f"cannot create a folder beside {out}: {e.strerror or e}") from None
    return work, lock


def publish_folder(work: Path, out: Path) -> None:
    """Rename the finished work folder to `out` (which must be missing or an empty folder: rename replaces an
    empty folder in one step). Raises ForensicError when that fails (`out` filled up meanwhile); the caller
    then discards the work folder."""
    out = Path(os.path.abspath(out))
    try:
        os.rename(work, out)
    except OSError as e:
        raise ForensicError(f"cannot put the export at {out}: {e.strerror or e} (nothing was written there; "
                            "export into a new folder)") from None
    try:  # the new name is on disk before the command reports it
        parent = os.open(out.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(parent)
        finally:
            os.close(parent)
    except OSError:
        pass


def discard_folder(work: Path, out: Path, lock: int) -> None:
    """Remove an unfinished work folder, or `out` when it is that folder, published just before a signal
    came (the same folder: compared by inode through the lock, never a folder someone else put there)."""
    import shutil

    if not work.exists():
        try:
            mine, there = os.fstat(lock), os.stat(out, follow_symlinks=False)
        except OSError:
            return
        if (mine.st_dev, mine.st_ino) != (there.st_dev, there.st_ino):
            return
        work = Path(out)
    shutil.rmtree(work, ignore_errors=True)


def _partial_prefix(out: Path) -> str:
    return f".{out.name[:120]}{PARTIAL}"


def _remove_abandoned(work: Path) -> None:
    """Remove a work folder whose process is gone (its lock is free); leave one a live export holds."""
    import fcntl
    import logging
    import shutil

    if work.is_symlink() or not work.is_dir():
        return
    try:
        fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return  # another export is writing it now
    try:
        logging.getLogger(__name__).info("removing %s, the unfinished folder of an export that was killed", work)
        shutil.rmtree(work, ignore_errors=True)
    finally:
        os.close(fd)
