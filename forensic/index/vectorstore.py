"""One embedder's vectors as FAISS files for search: a manifest and a few segment files.

SQLite holds every vector; these files are a search cache of the vectors of finished videos. Two
layouts (`Source`): an index of schema 2 keeps float16 vectors of each track's best few views
(table `views`), and its FAISS files hold them compressed (IVF-PQ codes) or, while a segment is
small, as float16 (exact); an index of schema 1 keeps a float32 vector per detection (table
`vectors`) and float32 copies in its FAISS files. Both are read and written as they are.

- Segments (at most `Layout.segment_size` vectors each, in id order, so in recording order): the
  writer only ever loads one segment into memory, to add to the newest one or to remove the
  vectors of deleted videos from an old one. Memory stays bounded however large the index grows.
- Type by size: a segment below `Layout.ivf_min` vectors is exact (flat16: float16 codes, the very
  values SQLite holds; schema 1: flat, float32); at that size it becomes an IVF index, which supports
  removal (re-indexing and prune need it): ivfpq (schema 2: product-quantised codes, about 1/20 of
  the float16 size; the candidates it finds are re-ranked with their vectors from SQLite, so the
  scores returned are exact) or ivf (schema 1: IndexIVFFlat, exact). Searching it looks at `nprobe` of its `nlist`
  lists; a filtered search looks at more lists the fewer vectors pass, and at all of them (exact)
  when few pass, always through an id selector, so a filter is honoured exactly and still yields
  its top k.
- Crash safety: segment files are written under new names and never changed; the manifest,
  written atomically last, names the segments and the finished videos they hold. A crash leaves
  the old manifest with its untouched segments. Whoever opens the files compares the manifest's
  videos with the database: vectors of removed videos are masked out, those of new videos are read
  from SQLite; the writer (or a search, when no writer is running) folds the difference into the
  files.
- Readers memory-map the segments: opening costs milliseconds and memory is what is touched.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensic.files import write_private

log = logging.getLogger(__name__)

_MIN_PER_LIST = 39  # FAISS wants at least this many training points per IVF list
_TRAIN_PER_LIST = 64
_CHUNK_VIDEOS = 500
_BLOCK = 20_000


@dataclass(frozen=True)
class Layout:
    """How vectors are laid out in FAISS files (chosen by the writer) and searched (by readers).
    Defaults measured with bench/search_speed.py (docs/benchmarks.md, "Search speed")."""

    segment_size: int = 262_144  # vectors per FAISS file: the most the writer holds in memory at once
    ivf_min: int = 50_000  # a segment this large becomes IVF; below it, exact flat search
    nlist: int = 1024  # IVF lists per segment (fewer for a small segment: 39 vectors per list at least)
    nprobe: int = 128  # IVF lists searched per segment when nothing is filtered
    exact_max: int = 8192  # a filter letting at most this many vectors of a segment through searches all its lists
    filter_boost: float = 2.0  # more lists for a wider filter: at most this many times nprobe
    pq_sub: int = 5  # dimensions per product-quantiser sub-vector (ivfpq): about dim / pq_sub bytes per vector
    rerank: float = 1.0  # ivfpq candidates re-ranked with their exact vectors: this many times k ...
    rerank_min: int = 500  # ... and at least this many


@dataclass(frozen=True)
class Source:
    """Where an index keeps its vectors in SQLite and how its FAISS files hold them (see the module docstring)."""

    table: str  # "views" (schema 2) | "vectors" (schema 1)
    dtype: str  # "<f2" | "<f4"
    fmt: int  # manifest format of the FAISS files
    flat: str  # kind of a small, exact segment
    ivf: str  # kind of a large segment

    def blob(self, dim: int) -> int:
        return np.dtype(self.dtype).itemsize * dim


VIEWS = Source("views", "<f2", 2, "flat16", "ivfpq")
DETECTIONS = Source("vectors", "<f4", 1, "flat", "ivf")
SOURCES = {1: DETECTIONS, 2: VIEWS}  # by schema version
EXACT = ("flat", "ivf", "flat16")  # kinds whose scores are exact; ivfpq candidates are re-ranked


@dataclass
class Segment:
    file: str
    kind: str  # "flat16" | "ivfpq" (schema 2), "flat" | "ivf" (schema 1)
    count: int
    lo: int  # smallest and largest detection id inside
    hi: int
    size: int | None = None  # bytes of the file and its CRC-32, recorded when it was written (None: an older manifest)
    crc32: int | None = None


@dataclass
class Manifest:
    dim: int
    segments: list[Segment]
    videos: np.ndarray  # finished videos (sorted ids) whose vectors the segments hold
    serial: int  # number of the next segment file


def manifest_path(root: Path, key: str) -> Path:
    return root / f"vectors-{key}.json"


def _segment_name(key: str, serial: int) -> str:
    return f"vectors-{key}-{serial:06d}.faiss"


def read_manifest(root: Path, key: str, dim: int, fmt: int | None = None) -> Manifest | None:
    """The manifest; None when missing, unreadable or of another format than `fmt` (None: either)."""
    path = manifest_path(root, key)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        wanted = (fmt,) if fmt else tuple(SOURCES)
        if data["format"] not in wanted or data["dim"] != dim:
            raise ValueError(f"format {data['format']}, dimension {data['dim']} (expected {fmt or 'any'}, {dim})")
        videos = np.frombuffer(base64.b64decode(data["videos"]), "<i8").astype(np.int64)
        segments = [Segment(**s) for s in data["segments"]]
        return Manifest(dim, segments, videos, int(data["serial"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("%s is unreadable (%s); its vectors are read from the database", path, e)
        return None


def _write_manifest(root: Path, key: str, m: Manifest, fmt: int) -> None:
    data = {"format": fmt, "key": key, "dim": m.dim, "serial": m.serial, "segments": [s.__dict__ for s in m.segments],
            "videos": base64.b64encode(np.ascontiguousarray(m.videos, "<i8").tobytes()).decode()}
    write_private(manifest_path(root, key), json.dumps(data).encode())


def _open_segment(root: Path, seg: Segment, dim: int, mmap: bool = True):
    """A segment's FAISS index, memory-mapped (read-only) or loaded (to modify)."""
    import faiss

    ivf = seg.kind in ("ivf", "ivfpq")
    flags = (faiss.IO_FLAG_MMAP if ivf else faiss.IO_FLAG_MMAP_IFC) if mmap else 0
    if seg.size is not None and os.stat(root / seg.file).st_size != seg.size:  # the cheap check on open; verify reads it all
        raise RuntimeError(f"{seg.file} has {os.stat(root / seg.file).st_size} bytes, the manifest says {seg.size}")
    index = faiss.read_index(str(root / seg.file), flags)
    if index.d != dim or index.ntotal != seg.count:
        raise RuntimeError(f"{seg.file} holds {index.ntotal} {index.d}-d vectors, the manifest says {seg.count} {dim}-d")
    if ivf and mmap:
        index_ivf = _ivf_of(index)
        # FAISS would start threads that read every probed list ahead of the search: reading what a
        # filter then skips cost 4-25x the search itself (bench/search_speed.py). The mapping pages in
        # what is read anyway. (parallel_mode stays 0, one thread per query: splitting one query's
        # lists over threads was several times slower whenever other work shared the cores.)
        faiss.downcast_InvertedLists(index_ivf.invlists).prefetch_nthread = 0
    return index


def _open_all(root: Path, m: Manifest) -> list | None:
    try:
        return [_open_segment(root, s, m.dim) for s in m.segments]
    except (RuntimeError, FileNotFoundError, OSError) as e:
        log.warning("vector files of %s are damaged (%s); their vectors are read from the database", root, e)
        return None


def _ivf_of(index):
    """The IVF index itself (ivfpq segments wrap theirs in a random rotation: IndexPreTransform)."""
    import faiss

    return faiss.downcast_index(index.index) if isinstance(index, faiss.IndexPreTransform) else index


def segment_ids(index) -> np.ndarray:
    import faiss

    if hasattr(index, "id_map"):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    ivf = _ivf_of(index)  # `index` stays referenced: it owns `ivf`
    lists = ivf.invlists
    parts = [faiss.rev_swig_ptr(lists.get_ids(k), lists.list_size(k)).copy() for k in range(ivf.nlist) if lists.list_size(k)]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def stored_ids(root: Path, key: str, dim: int, fmt: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(detection ids, video ids) the files on disk hold, without any repair; None when there are none
    or they are damaged (or of another format than `fmt`)."""
    m = read_manifest(root, key, dim, fmt)
    if m is None:
        return None
    indexes = _open_all(root, m)
    if indexes is None:
        return None
    ids = [segment_ids(i) for i in indexes]
    return (np.sort(np.concatenate(ids)) if ids else np.zeros(0, np.int64)), m.videos


def sql_vectors(db, key: str, dim: int, videos: np.ndarray, source: Source = VIEWS):
    """(ids, float32 vectors) blocks of the `key` vectors of these videos, from SQLite."""
    size = source.blob(dim)
    for start in range(0, len(videos), _CHUNK_VIDEOS):
        part = [int(v) for v in videos[start:start + _CHUNK_VIDEOS]]
        cur = db.execute(f"SELECT v.det_id, v.vec FROM {source.table} v JOIN detections d ON d.id=v.det_id "
                         f"WHERE v.key=? AND d.video_id IN ({','.join('?' * len(part))}) ORDER BY v.det_id", (key, *part))
        while rows := cur.fetchmany(_BLOCK):
            rows = [r for r in rows if len(r[1]) == size]  # a damaged vector is left out (verify reports it)
            if rows:
                yield (np.fromiter((r[0] for r in rows), np.int64, count=len(rows)),
                       np.frombuffer(b"".join(r[1] for r in rows), source.dtype).reshape(len(rows), dim).astype(np.float32))


def fetch_vectors(db, key: str, dim: int, ids: np.ndarray, source: Source = VIEWS) -> tuple[np.ndarray, np.ndarray]:
    """(found, float32 vectors) of these detection ids, from SQLite: `found` (bool per id) is False for
    an id without a sound vector, whose row is then zeros."""
    ids = np.asarray(ids, np.int64)
    out = np.zeros((len(ids), dim), np.float32)
    found = np.zeros(len(ids), bool)
    if not len(ids):
        return found, out
    pos = {int(i): n for n, i in enumerate(ids)}
    size = source.blob(dim)
    for chunk in range(0, len(ids), 900):
        part = [int(i) for i in ids[chunk:chunk + 900]]
        for det_id, blob in db.execute(f"SELECT det_id, vec FROM {source.table} WHERE key=? AND det_id IN ({','.join('?' * len(part))})",
                                       (key, *part)):
            if len(blob) == size:
                n = pos[det_id]
                out[n] = np.frombuffer(blob, source.dtype)
                found[n] = True
    return found, out


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if len(sorted_set) == 0 or len(values) == 0:
        return np.zeros(len(values), bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[pos] == values


class _Bitmap:
    """An IDSelectorBitmap over detection ids (one bit per id up to the largest)."""

    def __init__(self, ids: np.ndarray):
        import faiss

        bits = np.zeros(int(ids.max()) + 1 if len(ids) else 1, bool)
        bits[ids] = True
        self.bytes = np.packbits(bits, bitorder="little")  # kept alive: FAISS reads it by pointer
        self.selector = faiss.IDSelectorBitmap(len(self.bytes), faiss.swig_ptr(self.bytes))  # n: bytes, not bits


class VectorSet:
    """The searchable `key` vectors of finished videos: the segment files plus, while they lag behind
    the database, the vectors of new videos read from SQLite (and removed videos masked out).
    `fetch(ids) -> (found, vectors)` reads exact vectors (re-ranking of ivfpq candidates)."""

    def __init__(self, key: str, dim: int, segments: list[Segment], indexes: list, layout: Layout,
                 delta_ids: np.ndarray, delta_vecs: np.ndarray, live_ids: np.ndarray | None, fetch=None):
        self.key, self.dim, self.segments, self.indexes, self.layout = key, dim, segments, indexes, layout
        self.delta_ids, self.delta_vecs = delta_ids, delta_vecs
        self.live_ids = live_ids  # sorted ids of finished videos, when some segment vectors belong to removed ones
        self.fetch = fetch

    @property
    def d(self) -> int:
        return self.dim

    @property
    def kinds(self) -> list[str]:
        return [s.kind for s in self.segments]

    @property
    def ntotal(self) -> int:
        if self.live_ids is None:
            return sum(s.count for s in self.segments) + len(self.delta_ids)
        return len(self.ids())

    def ids(self) -> np.ndarray:
        """Sorted ids of the vectors this set searches."""
        ids = np.concatenate([segment_ids(i) for i in self.indexes] + [self.delta_ids])
        if self.live_ids is not None:
            ids = ids[_member(ids, self.live_ids)]
        return np.unique(ids)

    def nprobe_for(self, count: int, allowed: int, k: int, nlist: int) -> int:
        """Lists to search in an IVF segment of `count` vectors of which `allowed` pass the filter.

        Few pass (a camera and a day): all lists, an exact search that costs little, as only the
        allowed vectors are compared. Many pass: a few more lists than unfiltered (a class filter
        follows appearance, so its nearest vectors sit in the same lists), and always enough lists
        to hold k allowed results twice over."""
        if allowed < count and allowed <= self.layout.exact_max:
            return nlist
        need = max(self.layout.nprobe * min(count / allowed, self.layout.filter_boost), 2 * k * nlist / allowed)
        return int(min(nlist, max(1, math.ceil(need))))

    def pool(self, k: int) -> int:
        """How many ivfpq candidates are re-ranked exactly for a top k."""
        return max(int(math.ceil(self.layout.rerank * k)), self.layout.rerank_min)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, similarities) of the best k vectors, best first; only `allowed` ids (sorted) when given.
        Similarities are exact: ivfpq candidates (the best `pool(k)` by their codes) are re-ranked with
        their vectors from SQLite; in a segment a filter lets at most `exact_max` vectors through, all of
        them are (the result is then the exact top k, as from an exact segment)."""
        import faiss

        q = np.ascontiguousarray(np.asarray(query, np.float32).reshape(1, -1))
        if allowed is None and self.live_ids is not None:
            allowed = self.live_ids
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        sel = _Bitmap(allowed) if allowed is not None else None
        found_ids, found_sims = [], []
        rough_ids, rough_sims = [], []  # ivfpq candidates and their approximate similarities
        every: list[np.ndarray] = []  # ivfpq candidates re-ranked whatever their codes say (narrow filters)
        pool = self.pool(k)
        for seg, index in zip(self.segments, self.indexes):
            n = seg.count if allowed is None else int(np.searchsorted(allowed, seg.hi, "right") - np.searchsorted(allowed, seg.lo))
            if n == 0:
                continue
            exact = seg.kind in EXACT
            narrow = not exact and n < seg.count and n <= self.layout.exact_max
            kk = min(k if exact else n if narrow else pool, n, seg.count)
            if seg.kind in ("ivf", "ivfpq"):
                params = faiss.SearchParametersIVF(nprobe=self.nprobe_for(seg.count, min(n, seg.count), kk, _ivf_of(index).nlist))
            else:
                params = faiss.SearchParameters()
            if sel is not None:
                params.sel = sel.selector
            sims, ids = index.search(q, kk, params=params)
            keep = ids[0] >= 0
            if narrow:
                every.append(ids[0][keep])
                continue
            (found_ids if exact else rough_ids).append(ids[0][keep])
            (found_sims if exact else rough_sims).append(sims[0][keep])
        if rough_ids or every:
            ids = np.zeros(0, np.int64)
            if rough_ids:
                ids, sims = np.concatenate(rough_ids).astype(np.int64), np.concatenate(rough_sims)
                ids = ids[np.argsort(-sims, kind="stable")[:pool]]
            ids = np.concatenate([ids, *every]).astype(np.int64)
            if self.fetch is None:
                raise RuntimeError(f"{self.key} vectors: compressed segments need their vectors to re-rank")
            ok, vecs = self.fetch(ids)
            found_ids.append(ids[ok])  # a vector gone from the database (its video removed meanwhile) is not returned
            found_sims.append(vecs[ok] @ q[0])
        if len(self.delta_ids):
            rows = np.arange(len(self.delta_ids)) if allowed is None else np.flatnonzero(_member(self.delta_ids, allowed))
            sims = self.delta_vecs[rows] @ q[0]
            top = np.argsort(-sims, kind="stable")[:k]
            found_ids.append(self.delta_ids[rows[top]])
            found_sims.append(sims[top])
        if not found_ids:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        ids, sims = np.concatenate(found_ids).astype(np.int64), np.concatenate(found_sims).astype(np.float32)
        order = np.argsort(-sims, kind="stable")
        ids, sims = ids[order], sims[order]
        if len(self.delta_ids):  # a video both in a segment and in the delta (a crash between two writes) counts once
            _, first = np.unique(ids, return_index=True)
            keep = np.sort(first)
            ids, sims = ids[keep], sims[keep]
        return ids[:k], sims[:k]


def open_set(root: Path, key: str, dim: int, columns, db, layout: Layout, source: Source = VIEWS) -> tuple[VectorSet, bool]:
    """The `key` vectors for search, in line with the database: (set, whether the files lag behind)."""
    m, indexes = None, None
    for _ in range(3):  # a writer may replace the segments between reading the manifest and opening them
        m = read_manifest(root, key, dim, source.fmt)
        if m is None:
            break
        indexes = _open_all(root, m)
        if indexes is not None:
            break
    if m is None or indexes is None:
        m, indexes = Manifest(dim, [], np.zeros(0, np.int64), 0), []
    live = columns.done_videos()
    new = live[~_member(live, m.videos)]
    gone = len(m.videos) and not _member(m.videos, live).all()
    blocks = list(sql_vectors(db, key, dim, new, source))
    delta_ids = np.concatenate([b[0] for b in blocks]) if blocks else np.zeros(0, np.int64)
    delta_vecs = np.concatenate([b[1] for b in blocks]) if blocks else np.zeros((0, dim), np.float32)
    if len(new) or gone:
        log.info("%s vectors: %d read from the database (new videos), removed videos masked: %s", key, len(delta_ids), bool(gone))
    return VectorSet(key, dim, m.segments, indexes, layout, delta_ids, delta_vecs, columns.id if gone else None,
                     fetch=lambda ids: fetch_vectors(db, key, dim, ids, source)), bool(len(new) or gone)


def is_current(root: Path, key: str, dim: int, columns, source: Source = VIEWS) -> bool:
    """Whether the files hold exactly the vectors of the finished videos (cheap: no vector is read)."""
    m = read_manifest(root, key, dim, source.fmt)
    return m is not None and np.array_equal(m.videos, columns.done_videos()) and _open_all(root, m) is not None


def _new_flat(dim: int, source: Source):
    import faiss

    if source.flat == "flat16":
        return faiss.IndexIDMap(faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT))
    return faiss.IndexIDMap(faiss.IndexFlatIP(dim))


def sync(root: Path, key: str, dim: int, columns, db, layout: Layout, source: Source = VIEWS) -> bool:
    """Fold the database's changes into the files (writer only); True when something was written."""
    import faiss

    m = read_manifest(root, key, dim, source.fmt)
    if m is not None and _open_all(root, m) is None:
        m = None
    if m is None:
        serial = 1 + max([int(p.stem.rsplit("-", 1)[1]) for p in root.glob(f"vectors-{key}-*.faiss") if p.stem.rsplit("-", 1)[1].isdigit()] or [0])
        m = Manifest(dim, [], np.zeros(0, np.int64), serial)
        stale = True
    else:
        stale = not np.array_equal(m.videos, columns.done_videos())
    if not stale:
        return False
    live = columns.done_videos()
    new = live[~_member(live, m.videos)]
    segments: list[Segment] = []
    removed = 0
    gone = not _member(m.videos, live).all()
    for seg in m.segments:
        if gone:
            lo, hi = np.searchsorted(columns.id, [seg.lo, seg.hi + 1])
            if lo == hi:  # none of its vectors is live any more (pruned): drop it unread
                removed += seg.count
                continue
            ids = segment_ids(_open_segment(root, seg, dim))
            dead = ids[~_member(ids, columns.id)]
            if len(dead):
                removed += len(dead)
                if len(dead) == len(ids):
                    continue
                index = _open_segment(root, seg, dim, mmap=False)
                index.remove_ids(faiss.IDSelectorBatch(dead))
                seg = _write_segment(root, key, index, seg.kind, m, layout, source)
        segments.append(seg)
    added = 0
    if len(new):
        current, kind = None, source.flat
        if segments and segments[-1].count < layout.segment_size:
            last = segments.pop()
            current, kind = _open_segment(root, last, dim, mmap=False), last.kind
        for ids, vecs in sql_vectors(db, key, dim, new, source):
            added += len(ids)
            pos = 0
            while pos < len(ids):
                if current is None:
                    current, kind = _new_flat(dim, source), source.flat
                room = layout.segment_size - current.ntotal
                if kind == source.flat:  # become IVF on reaching ivf_min, trained on those vectors (never a huge flat copy)
                    room = min(room, max(1, layout.ivf_min - current.ntotal)) if current.ntotal < layout.ivf_min else room
                current.add_with_ids(np.ascontiguousarray(vecs[pos:pos + room]), ids[pos:pos + room])
                pos += room
                if kind == source.flat and current.ntotal >= layout.ivf_min:
                    current, kind = _to_ivf(current, layout, source), source.ivf
                if current.ntotal >= layout.segment_size:
                    segments.append(_write_segment(root, key, current, kind, m, layout, source))
                    current = None
        if current is not None and current.ntotal:
            segments.append(_write_segment(root, key, current, kind, m, layout, source))
    _write_manifest(root, key, Manifest(dim, segments, live.copy(), m.serial), source.fmt)
    keep = {s.file for s in segments} | {manifest_path(root, key).name}
    for p in list(root.glob(f"vectors-{key}-*.faiss")) + [root / f"vectors-{key}.faiss"]:
        if p.name not in keep:
            p.unlink(missing_ok=True)  # old segments (readers that mapped them keep their copy) and the pre-segment file
    log.info("%s vectors: %d added, %d removed; %d in %s", key, added, removed, sum(s.count for s in segments),
             ", ".join(f"{s.kind} {s.count}" for s in segments) or "no segment")
    return True


def _write_segment(root: Path, key: str, index, kind: str, m: Manifest, layout: Layout, source: Source) -> Segment:
    """Write under a new name (never over a file a manifest names); IVF from `ivf_min` vectors on."""
    import faiss

    if kind == source.flat and index.ntotal >= layout.ivf_min:
        index, kind = _to_ivf(index, layout, source), source.ivf
    ids = segment_ids(index)
    name = _segment_name(key, m.serial)
    m.serial += 1
    path = root / name
    tmp = path.with_name(path.name + ".tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    try:
        faiss.write_index(index, str(tmp))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return Segment(name, kind, int(index.ntotal), int(ids.min()) if len(ids) else 0, int(ids.max()) if len(ids) else 0,
                   path.stat().st_size, file_crc32(path))


def file_crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            crc = zlib.crc32(block, crc)
    return crc


def damaged_segments(root: Path, key: str, dim: int) -> list[str]:
    """The segment files whose bytes are not those written (CRC-32 recorded in the manifest): `forensic verify`."""
    def text() -> bytes | None:
        try:
            return manifest_path(root, key).read_bytes()
        except OSError:
            return None

    for _ in range(3):  # a writer may replace the segments between reading the manifest and reading them
        before = text()
        m = read_manifest(root, key, dim)
        out = []
        for seg in m.segments if m is not None else []:
            path = root / seg.file
            if not path.is_file():
                out.append(f"{seg.file} is missing")
            elif seg.crc32 is not None and (path.stat().st_size != seg.size or file_crc32(path) != seg.crc32):
                out.append(f"{seg.file} is damaged (its checksum differs from the one written)")
        if not out or text() == before:
            return out
    return out


def pq_shape(dim: int, n: int, layout: Layout) -> tuple[int, int]:
    """(sub-quantisers, bits each) of an ivfpq segment: sub-vectors of about `layout.pq_sub` dimensions
    (a divisor of `dim`), 8 bits (256 centroids) when there are enough vectors to train them."""
    target = dim / layout.pq_sub
    m = min((d for d in range(1, dim + 1) if dim % d == 0), key=lambda d: (abs(d - target), d))
    bits = int(max(1, min(8, math.floor(math.log2(max(2, n // _MIN_PER_LIST))))))
    return m, bits


def _to_ivf(flat, layout: Layout, source: Source = VIEWS):
    """An IVF index (inner product) trained on and holding the vectors of a flat IndexIDMap: IndexIVFPQ
    (schema 2) or IndexIVFFlat (schema 1)."""
    import faiss

    n, dim = flat.ntotal, flat.d
    inner = faiss.downcast_index(flat.index)
    if source.flat == "flat16":
        vecs = inner.reconstruct_n(0, n)
    else:
        vecs = faiss.rev_swig_ptr(inner.get_xb(), n * dim).reshape(n, dim)
    ids = faiss.vector_to_array(flat.id_map).astype(np.int64)
    nlist = max(1, min(layout.nlist, n // _MIN_PER_LIST))
    per_list = _TRAIN_PER_LIST
    if source.ivf == "ivfpq":
        # A random rotation first spreads the variance over the sub-vectors (real and synthetic vectors put
        # most of it in a few dimensions): measured on vectors of the bench's shape, top-20 recall after
        # re-ranking 0.48 -> 0.90 with 70 sub-quantisers; 0.99 with 154 (bench/search_speed.py, docs/benchmarks.md).
        m, bits = pq_shape(dim, n, layout)
        inner = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, m, bits, faiss.METRIC_INNER_PRODUCT)
        inner.cp.niter = 10
        inner.pq.cp.niter = 15
        rotation = faiss.RandomRotationMatrix(dim, dim)
        rotation.init(1)
        ivf = faiss.IndexPreTransform(rotation, inner)
        per_list = _TRAIN_PER_LIST // 2
    else:
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.niter = 10
    sample = np.random.default_rng(0).choice(n, min(n, per_list * nlist), replace=False)
    ivf.train(np.ascontiguousarray(vecs[np.sort(sample)]))
    ivf.add_with_ids(np.ascontiguousarray(vecs), ids)
    log.info("vector segment of %d became %s (%d lists)", n, source.ivf, nlist)
    return ivf
