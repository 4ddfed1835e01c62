#!/usr/bin/env python3
"""How fast `forensic search` answers on a large index: a synthetic index of N detections (default
1,000,000) across 50 cameras and 90 days, then open time, query latency and memory.

Rows are synthetic but shaped like real ones: videos of 30 minutes (2 per camera and day by
default), tracks of several detections sampled at 4 frames/s, classes in Vietnamese street traffic
proportions (most people ride a motorbike: their boxes sit on it), colour shares per part (people: upper/lower) rounded as forensic.colors rounds them,
tracks with voted colours. Vectors have the real dimensions (appearance: yolo11n's pooled feature
dim + 322 = 770 (appearance-v2), checked against the model when its weights are present; CLIP ViT-B-32: 512) and a
shape measured on real appearance vectors of the dev footage: a common direction (mean norm 0.84),
variance falling off with the component (half of it in 5 components, 90 % in about 70), detections
of one track close together (mean cosine 0.96 within a track, 0.71 between tracks). Rows are bulk
inserted in SQL (the store's schema); the search files are then written by the store's own writer
code (`IndexStore.sync_search_files`, what a `forensic index` run does when it closes).

Each step runs in its own process, so its memory is its own:
  build   rows and vectors into SQLite (this process)
  sync    the writer folds them into the search columns and FAISS files: time and peak memory
  search  open the index, then queries, each type 50 times (after one warm-up query):
            text         attribute ranking ("red motorbike", "người mặc áo trắng", ...), 20 hits
            text+clip    the same fused with a CLIP text search; a random unit vector stands in for
                         the text embedding (no CLIP weights exist here)
            photo        vector search on appearance + CLIP as a photo search does (kept to the
                         subject's class), the query a new view of an indexed object
            ... filtered each of them also with a camera and a 7-day window
          and recall: the photo search (IVF-PQ candidates, re-ranked) against an exact search (brute force).
Vectors are those of each track's views (forensic.index.store.track_views), float16, as `forensic index`
keeps them; --no-clip leaves CLIP out (forensic's default). Disk: the whole folder, per detection and per
camera-hour at the dev footage's density.

    .venv/bin/python bench/search_speed.py --index /tmp/speed1m            # 1M detections (~6 min, ~1.4 GB disk)
    .venv/bin/python bench/search_speed.py --index /tmp/speed10m --detections 10000000 --no-clip   # ~1 h, ~10 GB
    .venv/bin/python bench/search_speed.py --index /tmp/speed1m --reuse    # measure again on the same index
    .venv/bin/python bench/search_speed.py --detections 20000              # quick look, temporary folder
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

APPEARANCE_DIM = 448 + 322  # yolo11n: 64 + 128 + 256 channels into its detection head, + appearance-v2's 322 stripe bins
CLIP_DIM = 512  # ViT-B-32
APPEARANCE_MODEL = "yolo11n/pooled+hist"  # the names only need to match between build and search
CLIP_MODEL = "ViT-B-32/laion2b_s34b_b79k"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LAST_DAY = datetime(2026, 11, 21, tzinfo=TZ)
SAMPLE_FPS = 4.0
CLASSES = {"motorcycle": 0.40, "person": 0.40, "car": 0.11, "truck": 0.03, "bicycle": 0.03, "bus": 0.03}
RIDERS = 0.6  # share of person tracks that ride a motorbike (each brings its motorbike's track: ~55 % motorbikes in all)
PALETTE_WEIGHTS = {  # how often each colour is an object's main colour, per class (rough street figures)
    "motorcycle": {"black": 5, "red": 2, "blue": 2, "white": 2, "grey": 2, "brown": 1, "yellow": 1, "green": 1},
    "car": {"white": 5, "black": 3, "grey": 4, "red": 1, "blue": 1, "brown": 1, "green": 1, "yellow": 0.5},
    "person": {"black": 4, "white": 3, "blue": 2, "grey": 2, "red": 1, "brown": 1, "green": 1, "yellow": 0.5, "purple": 0.5, "orange": 0.5},
}
TEXT_QUERIES = ["red motorbike", "white car", "xe máy màu đỏ", "man in white shirt", "người mặc áo trắng quần đen", "black car",
                "motorbike rider in a red jacket", "người đi xe máy mặc áo khoác đỏ",
                "blue truck", "yellow bus", "person", "xe tải", "grey car", "green taxi", "woman in a red top", "xe máy",
                "silver taxi", "bicycle", "ô tô trắng", "xe buýt"]
QUERIES = 50


# -- synthetic rows ------------------------------------------------------------------------
def spectrum(dim: int) -> np.ndarray:
    i = np.arange(1, dim + 1)
    lam = (i + 2.0) ** -1.6  # fitted to the real appearance vectors' variance per principal component
    return lam / lam.sum()


class VectorMaker:
    """Vectors shaped like real ones (see the module docstring), in principal-component coordinates:
    FAISS's flat and IVF search are rotation-invariant, so no rotation is needed."""

    def __init__(self, dim: int, rng, mean_norm: float = 0.84, total_var: float = 0.29, within: float = 0.15):
        self.dim = dim
        self.mu = np.zeros(dim, np.float32)
        self.mu[0] = mean_norm  # the common direction, along an axis of its own
        sd = np.sqrt(spectrum(dim - 1) * total_var).astype(np.float32)
        self.sd = np.concatenate([[0.0], sd]).astype(np.float32)
        self.between, self.within = np.sqrt(1 - within), np.sqrt(within)
        self.rng = rng

    def centres(self, n: int) -> np.ndarray:
        return (self.rng.standard_normal((n, self.dim), np.float32) * self.sd * self.between).astype(np.float32)

    def views(self, centres: np.ndarray) -> np.ndarray:
        x = self.mu + centres + self.rng.standard_normal(centres.shape, np.float32) * self.sd * self.within
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def colours_for(cls: str, rng) -> tuple[dict, dict | None, dict | None]:
    def one(table):
        names = list(table)
        p = np.array([table[n] for n in names], float)
        main = rng.choice(len(names), p=p / p.sum())
        share = rng.uniform(0.35, 0.85)
        other = [n for k, n in enumerate(names) if k != main]
        rest = rng.choice(other, size=2, replace=False)
        split = rng.uniform(0.3, 0.7)
        return {names[main]: share, str(rest[0]): (1 - share) * split, str(rest[1]): (1 - share) * (1 - split)}

    if cls == "person":
        return {}, one(PALETTE_WEIGHTS["person"]), one(PALETTE_WEIGHTS["person"])
    return one(PALETTE_WEIGHTS.get(cls, PALETTE_WEIGHTS["car"])), None, None


def jitter(shares: dict, rng) -> dict:
    """One detection's shares: the track's, a little noisy, rounded and thresholded as forensic.colors does."""
    v = {k: max(0.0, s + rng.normal(0, 0.05)) for k, s in shares.items()}
    total = sum(v.values()) or 1.0
    return {k: round(s / total, 3) for k, s in v.items() if s / total >= 0.02}


def build(root: Path, n: int, cameras: int, days: int, per_day: int, seed: int = 0, clip: bool = True) -> dict:
    """Synthetic rows and vectors straight into SQLite (the store's schema), as finished videos: the vectors
    of each track's views (forensic.index.store.track_views), float16, as `forensic index` keeps them."""
    import sqlite3

    from forensic.index.store import DB_NAME, IndexStore, track_views, vote_colors

    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    with IndexStore(root, writer=True) as store:  # the folder, schema and embedders, as `forensic index` makes them
        store.register_embedder("appearance", APPEARANCE_MODEL, APPEARANCE_DIM)
        if clip:
            store.register_embedder("clip", CLIP_MODEL, CLIP_DIM)
        table, dtype = store.source.table, store.source.dtype
    # the rows in bulk; the search files are written afterwards by the writer (the `sync` step)
    with sqlite3.connect(root / DB_NAME, isolation_level=None) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        makers = {"appearance": VectorMaker(APPEARANCE_DIM, rng)}
        if clip:
            makers["clip"] = VectorMaker(CLIP_DIM, rng, mean_norm=0.6)
        views = 0
        videos = [(cam, day, k) for day in range(days) for cam in range(cameras) for k in range(per_day)]
        per_video = rng.poisson(n / len(videos), len(videos)).astype(int)
        per_video[-1] = max(0, per_video[-1] + n - per_video.sum())
        names, weights = list(CLASSES), np.array(list(CLASSES.values()))
        det_id = track_id = 0
        for vid, ((cam, day, k), count) in enumerate(zip(videos, per_video), 1):
            when = (LAST_DAY - timedelta(days=days - 1 - day)).replace(hour=int(rng.integers(6, 22)), minute=int(rng.integers(0, 60)))
            det_rows, track_rows, vec_rows = [], [], []

            def add(cls: str, t0: float, length: int, box: tuple) -> None:
                """One track: `length` detections sampled at 4 frames/s, moving right 3 px a frame."""
                nonlocal det_id, track_id, views
                whole, upper, lower = colours_for(cls, rng)
                x, y, w, h = box
                conf = rng.uniform(0.3, 0.95, length).astype(np.float32)
                quality = np.round(rng.uniform(0.1, 0.9, length), 4)
                track_id += 1
                ids = list(range(det_id + 1, det_id + length + 1))
                det_id += length
                colors = []
                for j, i in enumerate(ids):
                    if cls == "person":
                        up, lo = jitter(upper, rng), jitter(lower, rng)
                        c = {"whole": {m: round(0.6 * up.get(m, 0) + 0.4 * lo.get(m, 0), 3) for m in set(up) | set(lo)}, "upper": up, "lower": lo}
                    else:
                        c = {"whole": jitter(whole, rng)}
                    colors.append(c)
                    t = t0 + j / SAMPLE_FPS
                    det_rows.append((i, vid, int(t * 25), t, x + 3 * j, y, x + 3 * j + w, y + h, cls, float(conf[j]), float(quality[j]),
                                     track_id, json.dumps(c, separators=(",", ":"))))
                voted = vote_colors(colors, [max(1e-3, float(q) * float(c)) for q, c in zip(quality, conf)])
                track_rows.append((track_id, vid, cls, t0, t0 + (length - 1) / SAMPLE_FPS, length, ids[int(np.argmax(quality))],
                                   json.dumps(voted, separators=(",", ":"))))
                kept = track_views([(i, float(quality[j]), float(conf[j])) for j, i in enumerate(ids)])
                views += len(kept)
                for key, m in makers.items():
                    v = m.views(np.repeat(m.centres(1), len(kept), axis=0)).astype(dtype)
                    vec_rows.extend((i, key, v[j].tobytes()) for j, i in enumerate(kept))

            left = int(count)
            while left > 0:
                length = int(min(left, rng.geometric(1 / 8)))  # detections per track: 8 on average
                cls = names[rng.choice(len(names), p=weights / weights.sum())]
                t0 = float(rng.uniform(0, 1800 - length / SAMPLE_FPS))
                if cls == "person" and left >= 2 * length and rng.random() < RIDERS:
                    # a rider: a motorbike and the person sitting on it, seen in the same frames
                    w, h = rng.uniform(60, 200), rng.uniform(60, 160)
                    x, y = rng.uniform(0, 1920 - w - 3 * length), rng.uniform(1.0 * h, 1080 - h)
                    add("motorcycle", t0, length, (x, y, w, h))
                    add("person", t0, length, (x + 0.15 * w, y - 0.9 * h, 0.7 * w, 1.5 * h))
                    left -= 2 * length
                    continue
                w, h = (rng.uniform(40, 160), rng.uniform(80, 300)) if cls == "person" else (rng.uniform(60, 400), rng.uniform(50, 300))
                add(cls, t0, length, (rng.uniform(0, 1920 - w - 3 * length), rng.uniform(0, 1080 - h), w, h))
                left -= length
            path = f"/srv/cctv/exports/cam{cam + 1:02d}/{when:%Y-%m-%d}/ch01_{when:%Y%m%d%H%M%S}_{k}.mp4"
            db.execute("BEGIN")
            db.execute("INSERT INTO videos(id, path, camera, size, mtime, fingerprint, fps, frames, width, height, duration, sample_fps, "
                       "start_time, time_source, start_epoch, status, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, 'done', ?)",
                       (vid, path, f"cam{cam + 1:02d}", 900_000_000, when.timestamp(), f"fp{cam}-{day}-{k}", 25.0, 45000, 1920, 1080, 1800.0,
                        SAMPLE_FPS, when.isoformat(), "filename", when.timestamp(), when.isoformat()))
            db.executemany("INSERT INTO detections(id, video_id, frame, t, x1, y1, x2, y2, cls, conf, quality, track, colors) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", det_rows)
            db.executemany("INSERT INTO tracks(id, video_id, cls, first_t, last_t, n, best_det, colors) VALUES (?,?,?,?,?,?,?,?)", track_rows)
            db.executemany(f"INSERT INTO {table} VALUES (?,?,?)", vec_rows)
            db.execute("COMMIT")
            if vid % 500 == 0:
                print(f"  build: {det_id}/{n} detections, {vid}/{len(videos)} videos, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return {"detections": det_id, "videos": len(videos), "tracks": track_id, "views": views, "clip": clip,
            "seconds": round(time.perf_counter() - start, 1)}


# -- measuring -----------------------------------------------------------------------------
def memory() -> dict:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    out["maxrss"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def sync_step(root: Path) -> dict:
    import faiss

    from forensic.index.store import IndexStore

    start = time.perf_counter()
    with IndexStore(root, writer=True) as store:
        store.sync_search_files()
        kinds = {key: store.vector_index(key).kinds for key in ("appearance", "clip") if store.embedder(key)}
    return {"seconds": round(time.perf_counter() - start, 1), "memory": memory(), "segments": kinds, "faiss_threads": faiss.omp_get_max_threads()}


class RandomTextClip:
    """Stands in for CLIP's text tower (no CLIP weights here): a random unit vector per text."""

    multilingual = False

    def __init__(self, name: str, dim: int, rng):
        self.name, self.dim, self.rng = name, dim, rng

    def embed_text(self, texts):
        v = self.rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def search_step(root: Path, queries: int, nprobe: int | None = None, seed: int = 1) -> dict:
    from dataclasses import replace

    from forensic.index.store import IndexStore
    from forensic.index.vectorstore import Layout
    from forensic.query import parse_query
    from forensic.search.filters import Filters
    from forensic.search.hits import top_hits
    from forensic.search.text import search_text
    from forensic.search.vectors import vector_scores

    rng = np.random.default_rng(seed)
    before = memory()
    t0 = time.perf_counter()
    store = IndexStore(root, layout=Layout(nprobe=nprobe) if nprobe else None)
    t1 = time.perf_counter()
    cols = store.columns()
    t2 = time.perf_counter()
    sets = {key: store.vector_index(key) for key in ("appearance", "clip") if store.embedder(key)}
    t3 = time.perf_counter()
    opened = {"total": t3 - t0, "sqlite": t1 - t0, "columns": t2 - t1, "vectors": t3 - t2}
    after_open = memory()
    import faiss  # already imported by the vector files; only for the thread count

    clip = RandomTextClip(CLIP_MODEL, CLIP_DIM, rng)
    parsed = [parse_query(q) for q in TEXT_QUERIES]
    cameras = sorted(set(cols.cameras))
    first, last = float(np.nanmin(cols.video_start)), float(np.nanmax(cols.video_start))

    def window():
        cam = cameras[int(rng.integers(len(cameras)))]
        since = datetime.fromtimestamp(rng.uniform(first, max(first, last - 7 * 86400)), TZ)
        return (cam,), since, since + timedelta(days=7)

    viewed = sets["appearance"].ids()  # detections with vectors: the tracks' views

    def photo_query():
        """A new view of an indexed object: one of its stored vectors, slightly changed."""
        det = int(viewed[rng.integers(len(viewed))])
        out = {}
        for key, model in (("appearance", APPEARANCE_MODEL), ("clip", CLIP_MODEL)):
            if key not in sets:
                continue
            v = store.get_vectors(key, [det])[0] + rng.normal(0, 0.02, sets[key].dim).astype(np.float32)
            out[key] = (model, v / np.linalg.norm(v))
        return det, cols.classes[int(cols.cls[cols.rows_of([det])[0]])], out

    def text(filtered: bool, use_clip: bool):
        q = parsed[int(rng.integers(len(parsed)))]
        if filtered:
            cams, since, until = window()
            q = replace(q, cameras=cams, since=since, until=until)
        return lambda: search_text(store, q, clip if use_clip else None, limit=20)

    def photo(filtered: bool):
        _, cls, vecs = photo_query()
        f = Filters(classes=(cls,))
        if filtered:
            cams, since, until = window()
            f = replace(f, cameras=cams, since=since, until=until)

        def run():
            ids, scores = vector_scores(store, vecs, f.allowed_ids(store))
            return top_hits(store, ids, scores, 20)
        return run

    kinds = {"text": lambda: text(False, False), "text filtered": lambda: text(True, False),
             "text+clip": lambda: text(False, True), "text+clip filtered": lambda: text(True, True),
             "photo": lambda: photo(False), "photo filtered": lambda: photo(True)}
    if "clip" not in sets:
        del kinds["text+clip"], kinds["text+clip filtered"]
    latency, hits = {}, {}
    for name, make in kinds.items():
        start = time.perf_counter()
        make()()  # the first query of its kind in this process (what a one-off `forensic search` pays): not counted below
        first_query = time.perf_counter() - start
        times, cpu, counts = [], [], []
        for _ in range(queries):
            run = make()
            start, start_cpu = time.perf_counter(), time.process_time()
            found = run()
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            counts.append(len(found))
        latency[name] = {"p50_ms": round(1000 * float(np.percentile(times, 50)), 1),
                         "p99_ms": round(1000 * float(np.percentile(times, 99)), 1),
                         "max_ms": round(1000 * max(times), 1), "cpu_p50_ms": round(1000 * float(np.percentile(cpu, 50)), 1),
                         "first_ms": round(1000 * first_query, 1)}
        hits[name] = round(float(np.mean(counts)), 1)
    after_queries = memory()
    recall = photo_recall(store, sets, photo_query, window)
    return {"open_s": {k: round(v, 3) for k, v in opened.items()}, "memory_before_open": before, "memory_after_open": after_open,
            "memory_after_queries": after_queries, "latency": latency, "mean_hits": hits, "recall": recall, "rows": len(cols),
            "segments": {k: s.kinds for k, s in sets.items()}, "nprobe": store.layout.nprobe, "faiss_threads": faiss.omp_get_max_threads()}


def photo_recall(store, sets, photo_query, window, n: int = 20) -> dict:
    """The search (IVF-PQ candidates re-ranked exactly) against an exact search of every stored vector
    (brute force over the float16 vectors in SQLite, one pass for all queries), per embedder: the share
    of the exact top 100 and top 20 found, with no filter, the class filter of a photo search, and a
    camera and week."""
    from forensic.index.vectorstore import _member, sql_vectors
    from forensic.search.filters import Filters

    cases = []  # (filter name, key, vector, allowed)
    for name in ("no filter", "class", "camera+week"):
        for _ in range(n):
            _, cls, vecs = photo_query()
            cams, since, until = window()
            allowed = {"no filter": None, "class": Filters(classes=(cls,)).allowed_ids(store),
                       "camera+week": Filters(cameras=cams, since=since, until=until).allowed_ids(store)}[name]
            cases += [(name, key, v, allowed) for key, (_, v) in vecs.items()]
    exact: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0, np.int64), np.zeros(0, np.float32)) for _ in cases]
    videos = store.columns().video_id
    for key, s in sets.items():
        mine = [c for c, case in enumerate(cases) if case[1] == key]
        q = np.stack([cases[c][2] for c in mine]).astype(np.float32)
        for ids, vecs in sql_vectors(store.db, key, s.dim, videos, store.source):
            sims = vecs @ q.T
            for col, c in enumerate(mine):
                allowed = cases[c][3]
                ok = np.ones(len(ids), bool) if allowed is None else _member(ids, allowed)
                have_ids, have_sims = exact[c]
                all_ids = np.concatenate([have_ids, ids[ok]])
                all_sims = np.concatenate([have_sims, sims[ok, col]])
                top = np.argsort(-all_sims, kind="stable")[:100]
                exact[c] = (all_ids[top], all_sims[top])
    out = {}
    for name in ("no filter", "class", "camera+week"):
        at100, at20 = [], []
        for (case_name, key, v, allowed), (want, _) in zip(cases, exact):
            if case_name != name or len(want) == 0:
                continue
            s = sets[key]
            at100.append(len(set(s.search(v, 100, allowed)[0].tolist()) & set(want.tolist())) / len(want))
            at20.append(len(set(s.search(v, 20, allowed)[0].tolist()) & set(want[:20].tolist())) / min(20, len(want)))
        out[name] = {"top100": round(float(np.mean(at100)), 4), "top20": round(float(np.mean(at20)), 4)}
    return out


def sweep(load_average) -> None:
    """Exact (flat) against IVF search on in-memory vectors of the bench's shape, one thread: what decided
    `Layout` (flat below ivf_min, nlist, nprobe). Query: a new view of a stored object."""
    import faiss

    from forensic.index.vectorstore import Layout, _to_ivf

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(7)
    print(f"load average {load_average()}; one thread; CLIP-sized vectors ({CLIP_DIM}-d); k = 100; cpu ms per query (median of 30)")
    print(f"{'vectors':>9} {'index':>14} {'cpu ms':>8} {'top 100':>8}")
    for n in (16_384, 50_000, 262_144):
        maker = VectorMaker(CLIP_DIM, rng)
        centres = maker.centres(max(1, n // 8))
        x = maker.views(centres[np.sort(rng.integers(0, len(centres), n))])
        flat = faiss.IndexIDMap(faiss.IndexFlatIP(CLIP_DIM))
        flat.add_with_ids(x, np.arange(n, dtype=np.int64))
        queries = maker.views(centres[rng.integers(0, len(centres), 30)])
        truth = [set(flat.search(q[None], 100)[1][0].tolist()) for q in queries]

        def timed(index, params=None):
            cpu, rec = [], []
            for q, want in zip(queries, truth):
                start = time.process_time()
                ids = index.search(q[None], 100, params=params)[1][0]
                cpu.append(time.process_time() - start)
                rec.append(len(want & set(ids.tolist())) / 100)
            return 1000 * float(np.median(cpu)), float(np.mean(rec))

        ms, _ = timed(flat)
        print(f"{n:>9} {'flat (exact)':>14} {ms:>8.1f} {1.0:>8.3f}")
        ivf = _to_ivf(flat, Layout())
        for nprobe in (32, 64, 128, 256):
            ms, rec = timed(ivf, faiss.SearchParametersIVF(nprobe=nprobe))
            print(f"{n:>9} {f'IVF{ivf.nlist} np{nprobe}':>14} {ms:>8.1f} {rec:>8.3f}")


def check_dim() -> str:
    """The appearance dimension from the real detector, when its weights are present (own process: torch)."""
    weights = ROOT.parent / "shared" / "models" / "yolo11n.pt"
    if not weights.exists():
        return "not checked (no ../shared/models/yolo11n.pt)"
    code = ("from pathlib import Path; from forensic.models.detector import YoloDetector; from forensic.models.appearance import HIST_DIM;"
            f"print(YoloDetector('yolo11n.pt', Path({str(weights.parent)!r}), False, 'cpu', 320, 0.3).feature_dim + HIST_DIM)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return f"not checked ({out.stderr.strip().splitlines()[-1] if out.stderr.strip() else 'failed'})"
    dim = int(out.stdout.strip().splitlines()[-1])
    assert dim == APPEARANCE_DIM, f"yolo11n gives {dim}-d appearance vectors, the bench uses {APPEARANCE_DIM}"
    return f"{dim} (checked against yolo11n.pt)"


def step(name: str, root: Path, args) -> dict:
    cmd = [sys.executable, __file__, "--step", name, "--index", str(root), "--queries", str(args.queries)] + \
        (["--nprobe", str(args.nprobe)] if args.nprobe else [])
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"step {name} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--detections", type=int, default=1_000_000)
    p.add_argument("--cameras", type=int, default=50)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--videos-per-day", type=int, default=2, help="videos per camera and day (30 minutes each)")
    p.add_argument("--queries", type=int, default=QUERIES, help="timed queries per type")
    p.add_argument("--index", type=Path, help="index folder (default: temporary, removed afterwards)")
    p.add_argument("--reuse", action="store_true", help="measure the index already in --index")
    p.add_argument("--json", type=Path, help="write all figures here")
    p.add_argument("--nprobe", type=int, help="IVF lists searched per segment (default: forensic's, Layout.nprobe)")
    p.add_argument("--no-clip", action="store_true", help="build without CLIP vectors (forensic's default: CLIP is optional)")
    p.add_argument("--sweep", action="store_true", help="only compare exact and IVF search on in-memory vectors of a few sizes")
    p.add_argument("--step", choices=["sync", "search"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.step:
        result = sync_step(args.index) if args.step == "sync" else search_step(args.index, args.queries, args.nprobe)
        print(json.dumps(result))
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import git_state, load_average  # noqa: E402

    if args.sweep:
        sweep(load_average)
        return 0

    temp = None
    root = args.index
    if root is None:
        temp = Path(tempfile.mkdtemp(prefix="forensic-speed-"))
        root = temp / "idx"
    report = {"date": datetime.now().astimezone().isoformat(timespec="seconds"), "code": git_state(), "nproc": os.cpu_count(),
              "cpu": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                           if line.startswith("model name")), "?"), "load_start": load_average(), "appearance_dim": check_dim()}
    try:
        if not args.reuse:
            if root.exists() and any(root.iterdir()):
                raise SystemExit(f"{root} is not empty: pass --reuse to measure it, or another --index")
            print(f"building {args.detections} detections in {root} ...", file=sys.stderr)
            report["build"] = build(root, args.detections, args.cameras, args.days, args.videos_per_day, clip=not args.no_clip)
            report["load_after_build"] = load_average()
            print("writing the search files (the writer's sync) ...", file=sys.stderr)
            report["sync"] = step("sync", root, args)
        report["load_before_search"] = load_average()
        print("searching ...", file=sys.stderr)
        report["search"] = step("search", root, args)
        report["load_end"] = load_average()
        report["disk_mb"] = {p.name: round(on_disk(p) / 2**20, 1) for p in sorted(root.iterdir()) if p.is_file() and on_disk(p) > 2**20}
        report["disk"] = disk(root, report["search"]["rows"])
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


def on_disk(path: Path) -> int:
    """Bytes a file takes on disk: the search columns keep room to append as a hole (a sparse file), which
    counts in its length but takes no disk until written."""
    st = path.stat()
    return min(st.st_size, st.st_blocks * 512)


DEV_DENSITY = 23_000  # detections per camera-hour of the dev footage (docs/benchmarks.md, "Search speed")


def disk(root: Path, detections: int) -> dict:
    """Bytes of the whole index folder but its thumbnails (and plate crops), per detection and per camera-hour
    at the dev footage's density."""
    total = sum(on_disk(p) for p in root.rglob("*") if p.is_file() and not {"thumbs", "plates"} & set(p.relative_to(root).parts))
    per = total / max(1, detections)
    return {"bytes": total, "per_detection": round(per, 1), "per_camera_hour_mb": round(per * DEV_DENSITY / 1e6, 1)}


def print_report(r: dict) -> None:
    s = r["search"]
    print(f"\nforensic search speed: {s['rows']} detections; {r['date']}, code {r['code']}, {r['nproc']} x {r['cpu']}")
    print(f"load average: start {r['load_start']}, before search {r['load_before_search']}, end {r['load_end']}")
    print(f"appearance dim: {r['appearance_dim']}; FAISS threads {s['faiss_threads']}; segments {s['segments']}")
    if "build" in r:
        b, y = r["build"], r["sync"]
        print(f"build (bulk SQL): {b['seconds']} s; writer sync (search files): {y['seconds']} s, peak memory {y['memory']['VmHWM']} MB")
    o = s["open_s"]
    m1, m2 = s["memory_after_open"], s["memory_after_queries"]
    print(f"open: {1000 * o['total']:.0f} ms (sqlite {1000 * o['sqlite']:.0f}, columns {1000 * o['columns']:.0f}, vectors {1000 * o['vectors']:.0f})")
    print(f"memory (MB): after open RSS {m1['VmRSS']} (private {m1['RssAnon']}, mapped files {m1['RssFile']}); after the queries "
          f"RSS {m2['VmRSS']} (private {m2['RssAnon']}, mapped files {m2['RssFile']}: page cache, shared and reclaimable), peak {m2['VmHWM']}")
    print(f"\n{'query':<22}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'cpu p50':>9}{'first':>8}{'hits':>7}")
    for name, lat in s["latency"].items():
        print(f"{name:<22}{lat['p50_ms']:>9}{lat['p99_ms']:>9}{lat['max_ms']:>9}{lat['cpu_p50_ms']:>9}{lat['first_ms']:>8}{s['mean_hits'][name]:>7}")
    print("(cpu: processor time of the query, all threads: steadier than wall time when other jobs share the machine;\n"
          " first: the first query of its kind in the process, not counted in p50/p99)")
    print(f"\nsearch (IVF-PQ nprobe {s['nprobe']}, re-ranked) against exact search, share of the exact results found (20 photo queries per embedder):")
    for name, rc in s["recall"].items():
        print(f"  {name:<12} top 100 {rc['top100']:.4f}   top 20 {rc['top20']:.4f}")
    if r.get("disk_mb"):
        print("disk (MB): " + ", ".join(f"{k} {v}" for k, v in r["disk_mb"].items()))
    if r.get("disk"):
        d = r["disk"]
        print(f"disk in all (thumbnails aside): {d['bytes'] / 1e9:.2f} GB, {d['per_detection']} bytes per detection, "
              f"{d['per_camera_hour_mb']} MB per camera-hour at {DEV_DENSITY} detections per camera-hour")


if __name__ == "__main__":
    sys.exit(main())
