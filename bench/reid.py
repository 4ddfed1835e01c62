#!/usr/bin/env python3
"""Cross-camera person re-identification: does a photo of a person from one camera find the same
person among crops from other cameras?

Data: ../shared/datasets/peta-dev (research-only: measured here, nothing trained on it, nothing from
it shipped). Every crop is embedded as `forensic search --photo` embeds a photo: pasted at its own
scale on a grey canvas of a typical frame size, its subject found by the detector (forensic.search.photo.
find_subject), the detector's features pooled on the canvas, then the appearance embedder run on the
canvas and that detection. The detection step is cached (--cache); the descriptors are recomputed.

Queries: every crop of a person seen by at least two cameras. Gallery: every crop of peta-dev from
ANOTHER camera than the query's (same-camera crops of the query's person never count; crops of the
one-camera subsets TownCentre, MIT and CUHK are distractors in every gallery).
- CAVIAR4REID: camera from labels.csv (cam1 / cam2); 50 people in both.
- i-LID: labels.csv names no camera. Each crop is then its own view: a query's positives are the
  person's other crops, which often come from the same airport camera a few seconds apart (looked at
  by eye: the first two crops of a person usually share a camera), so i-LID figures are easier than
  truly cross-camera ones; CAVIAR4REID is the strict figure.
Metrics: rank-k (a positive among the first k of the gallery), mAP (over all positives).

    .venv/bin/python bench/reid.py                          # appearance-v1 (baseline) and the current embedder
    .venv/bin/python bench/reid.py --tune --json /tmp/reid.json
    .venv/bin/python bench/reid.py --within-footage /tmp/rel-v1 /tmp/rel-v2   # + same camera, people and vehicles

--tune: leave-one-subset-out check of appearance-v2's weights (detector share; relative colour,
absolute colour and brightness shares): chosen by mAP on CAVIAR4REID and scored on i-LID, and the
other way round. --within-footage: indexes of ../shared/footage built by bench/relevance.py with each
appearance version; a tracked detection must find its own track 2 s away first among its class group
(the only check here for vehicles: peta-dev has people only). Also printed: the gallery kept to the
query's subset (no other-dataset distractors), and the cost of the hand-made part per detection.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED, git_state, load_average, machine  # noqa: E402

sys.path.insert(0, str(ROOT))

RANKS = (1, 5, 10, 20)
SUBSETS = ("CAVIAR4REID", "i-LID")  # subsets with queries; the others are distractors
CANVAS = (1280, 720)  # the canvas photo search uses when the index has no videos (typical_frame_size)


@dataclass
class Crop:
    path: Path
    subset: str
    person: str
    view: str  # camera, or the crop itself when the camera is unknown


def load_crops(dataset: Path) -> list[Crop]:
    crops = []
    with open(dataset / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            view = f"{row['subset']}:{row['camera']}" if row["camera"] else f"crop:{row['image']}"
            crops.append(Crop(dataset / row["image"], row["subset"], row["person_id"], view))
    return crops


def query_mask(crops: list[Crop]) -> np.ndarray:
    """Crops of people seen in at least two views, in the subsets with queries."""
    views: dict[str, set[str]] = {}
    for c in crops:
        views.setdefault(c.person, set()).add(c.view)
    return np.array([c.subset in SUBSETS and len(views[c.person]) >= 2 for c in crops])


# --- embedding, as photo search does it ---------------------------------------------------------
def subjects(models, crops: list[Crop], canvas_size, cache: Path | None):
    """(canvas placement, Detections of the subject on the canvas) per crop; the detection step cached."""
    import cv2

    from forensic.detections import Detections
    from forensic.search.photo import find_subject, place_on_canvas

    key = hashlib.sha1(json.dumps([models.detector.name, models.detector.backend, models.detector.imgsz,
                                   models.detector.conf, list(canvas_size)]).encode()).hexdigest()[:12]
    path = cache / f"subjects-{key}.npz" if cache else None
    names = np.array([str(c.path) for c in crops])
    if path is not None and path.exists():
        z = np.load(path)
        if len(z["names"]) == len(names) and (z["names"] == names).all():
            return [Detections(z["xyxy"][i:i + 1], z["conf"][i:i + 1], z["cls"][i:i + 1], z["feats"][i:i + 1]) for i in range(len(crops))]
    out = []
    t0 = time.perf_counter()
    for i, c in enumerate(crops):
        photo = cv2.imread(str(c.path), cv2.IMREAD_COLOR)
        canvas, scale, ox, oy = place_on_canvas(photo, canvas_size)
        region = (ox, oy, ox + int(photo.shape[1] * scale), oy + int(photo.shape[0] * scale))
        det, _ = find_subject(models, canvas, region)
        out.append(det[:1])
        if (i + 1) % 200 == 0:
            print(f"  subjects {i + 1}/{len(crops)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, names=names, xyxy=np.concatenate([d.xyxy for d in out]), conf=np.concatenate([d.confidence for d in out]),
                 cls=np.concatenate([d.class_name for d in out]), feats=np.concatenate([d.features for d in out]))
    return out


def canvas_of(crop: Crop, canvas_size) -> np.ndarray:
    import cv2

    from forensic.search.photo import place_on_canvas

    return place_on_canvas(cv2.imread(str(crop.path), cv2.IMREAD_COLOR), canvas_size)[0]


def embed_all(embedder, crops: list[Crop], dets, canvas_size) -> np.ndarray:
    return np.concatenate([embedder.embed(canvas_of(c, canvas_size), d) for c, d in zip(crops, dets)])


# --- metrics ----------------------------------------------------------------------------------
def evaluate(sim: np.ndarray, crops: list[Crop], queries: np.ndarray) -> dict:
    """Rank-k and mAP per subset and overall from a crops x crops similarity matrix."""
    person = np.array([c.person for c in crops])
    view = np.array([c.view for c in crops])
    subset = np.array([c.subset for c in crops])
    ranks, aps, subs = [], [], []
    for q in np.flatnonzero(queries):
        gallery = np.flatnonzero(view != view[q])
        positive = person[gallery] == person[q]
        if not positive.any():
            continue
        order = np.argsort(-sim[q, gallery], kind="stable")
        hits = positive[order]
        where = np.flatnonzero(hits)
        ranks.append(where[0] + 1)
        aps.append(float(np.mean(np.arange(1, len(where) + 1) / (where + 1))))
        subs.append(subset[q])
    ranks, aps, subs = np.array(ranks), np.array(aps), np.array(subs)
    gallery_sizes = [int((view != view[q]).sum()) for q in np.flatnonzero(queries)]
    out = {}
    for name in (*SUBSETS, "overall"):
        m = subs == name if name != "overall" else np.ones(len(subs), bool)
        if not m.any():
            continue
        out[name] = {"queries": int(m.sum()), **{f"rank{k}": float(np.mean(ranks[m] <= k)) for k in RANKS},
                     "mAP": float(np.mean(aps[m]))}
    out["gallery"] = [int(min(gallery_sizes)), int(max(gallery_sizes))]
    return out


def within_subset(sim: np.ndarray, crops: list[Crop], queries: np.ndarray) -> dict:
    """Rank-k and mAP with the gallery kept to the query's own subset (other cameras only): no
    distractors from other datasets, whose different look (resolution, colours) a descriptor may
    learn to tell apart without telling people apart."""
    subset = np.array([c.subset for c in crops])
    out = {}
    for name in SUBSETS:
        keep = subset == name
        res = evaluate(sim[np.ix_(keep, keep)], [c for c, k in zip(crops, keep) if k], queries[keep])
        if name in res:
            out[name] = res[name] | {"gallery": res["gallery"]}
    return out


def table(results: dict[str, dict]) -> str:
    lines = [f"{'descriptor':28s} {'subset':12s} {'n':>4s} " + " ".join(f"{'r' + str(k):>6s}" for k in RANKS) + f" {'mAP':>6s}"]
    for name, res in results.items():
        for subset in (*SUBSETS, "overall"):
            if subset in res:
                r = res[subset]
                lines.append(f"{name:28s} {subset:12s} {r['queries']:4d} " + " ".join(f"{100 * r[f'rank{k}']:5.1f}%" for k in RANKS)
                             + f" {100 * r['mAP']:5.1f}%")
    return "\n".join(lines)


# --- leave-one-subset-out tuning ------------------------------------------------------------------
DETECTOR_WEIGHTS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6)
PART_GRID = tuple((a / 5, b / 5, round(1 - a / 5 - b / 5, 1)) for a in range(6) for b in range(6 - a))


def similarity(features: np.ndarray, parts: np.ndarray, detector_weight: float, part_weights) -> np.ndarray:
    """What appearance-v2 vectors' inner products are with these weights (each part and the detector
    features are unit vectors, so the joined vector is too)."""
    sim = detector_weight * (features @ features.T)
    for p, w in enumerate(part_weights):
        sim += (1 - detector_weight) * w * (parts[:, p] @ parts[:, p].T)
    return sim


def tune(features, parts, crops, queries) -> dict:
    """Weights chosen on one subset's queries (best mAP), scored on the other's."""
    subset = np.array([c.subset for c in crops])
    grid = {}
    for wd in DETECTOR_WEIGHTS:
        for pw in PART_GRID:
            grid[(wd, pw)] = evaluate(similarity(features, parts, wd, pw), crops, queries)
    out = {}
    for tuned_on, scored_on in ((SUBSETS[0], SUBSETS[1]), (SUBSETS[1], SUBSETS[0])):
        best = max(grid, key=lambda k: (grid[k][tuned_on]["mAP"], grid[k][tuned_on]["rank5"]))
        out[f"tuned on {tuned_on}"] = {"detector_weight": best[0], "part_weights": list(best[1]), "scored_on": scored_on,
                                        "score": grid[best][scored_on], "tuning_score": grid[best][tuned_on]}
    return out


# --- within footage: the same object seconds later, people and vehicles ---------------------------------
GROUPS = {"people": ("person",), "two-wheelers": ("motorcycle", "bicycle"), "cars, buses, trucks": ("car", "bus", "truck")}


def within_footage(indexes: list[Path], gap: float = 2.0) -> dict:
    """For indexes of the same footage (bench/relevance.py --index, one per appearance version): each
    tracked detection as a query, among the detections of its class group, must find its own track at
    least `gap` seconds away before any other track. Tracks are those of the first index (the tracker
    uses the appearance vectors, so they can differ between indexes); detections are matched by video,
    time, class and box. Returns rank-1 and rank-5 per group and index."""
    import sqlite3

    loaded = []
    for root in indexes:
        db = sqlite3.connect(f"file:{root / 'index.sqlite'}?mode=ro", uri=True)
        # schema 2 keeps the vectors of each track's views only (float16): the check then runs on those views
        views = db.execute("SELECT 1 FROM sqlite_master WHERE name='views'").fetchone() is not None
        table, dtype = ("views", np.float16) if views else ("vectors", np.float32)
        rows = db.execute("SELECT vi.path, d.t, d.cls, d.x1, d.y1, d.x2, d.y2, d.track, v.vec FROM detections d "
                          f"JOIN videos vi ON vi.id = d.video_id JOIN {table} v ON v.det_id = d.id AND v.key = 'appearance'").fetchall()
        rows = [(*r[:8], np.frombuffer(r[8], dtype).astype(np.float32).tobytes()) for r in rows]
        model = db.execute("SELECT model FROM embedders WHERE key='appearance'").fetchone()[0]
        db.close()
        rows.sort(key=lambda r: (Path(r[0]).name, r[1], r[2], round(r[3]), round(r[4]), round(r[5]), round(r[6])))
        keys = [(Path(r[0]).name, r[1], r[2], round(r[3]), round(r[4]), round(r[5]), round(r[6])) for r in rows]
        loaded.append((model, keys, rows))
    _, keys, rows = loaded[0]
    for model, other_keys, _ in loaded[1:]:
        if other_keys != keys:
            sys.exit(f"reid: the indexes {', '.join(map(str, indexes))} do not hold the same detections")
    video = np.array([k[0] for k in keys])
    t = np.array([k[1] for k in keys])
    cls = np.array([k[2] for k in keys])
    track = np.array([r[7] if r[7] is not None else -1 for r in rows])
    out = {}
    for model, _, rws in loaded:
        vecs = np.stack([np.frombuffer(r[8], np.float32) for r in rws])
        out[model] = {}
        for group, classes in GROUPS.items():
            member = np.isin(cls, classes)
            ranks = []
            for q in np.flatnonzero(member & (track > 0)):
                later = member & (video == video[q]) & (track == track[q]) & (np.abs(t - t[q]) >= gap)
                if not later.any():
                    continue
                pool = np.flatnonzero(member & ((track != track[q]) | (video != video[q]) | later))
                order = pool[np.argsort(-(vecs[pool] @ vecs[q]), kind="stable")]
                ranks.append(int(np.flatnonzero(later[order])[0]) + 1)
            ranks = np.array(ranks)
            out[model][group] = {"queries": len(ranks), "rank1": float(np.mean(ranks <= 1)), "rank5": float(np.mean(ranks <= 5))}
    return out


# --- cost ---------------------------------------------------------------------------------------
def cost_per_detection(models, footage: Path, repeat: int = 5) -> dict:
    """Milliseconds per detection of the hand-made part (the detector features come with detection),
    on detections of real frames (the index's case), v1's and v2's."""
    import cv2

    from forensic.models.appearance import descriptor, stripe_histograms

    frames = []
    for clip, times in (("uk_campus_pedestrians_vtest.avi", (10, 30, 50, 60)), ("vn_crossroad_acview_day.mp4", (2, 6)),
                        ("vn_truccat_crossroad_day.mp4", (1, 4))):
        cap = cv2.VideoCapture(str(footage / clip))
        for t in times:
            cap.set(cv2.CAP_PROP_POS_MSEC, t * 1000)
            ok, frame = cap.read()
            if ok:
                frames.append(frame)
        cap.release()
    if not frames:
        return {}
    work = [(f, b) for f in frames for b in models.detector.detect([f])[0].xyxy]
    out = {"detections": len(work)}
    for name, fn in (("appearance-v1", stripe_histograms), ("appearance-v2", descriptor)):
        best = np.inf
        for _ in range(repeat):
            t0 = time.process_time()
            for f, b in work:
                fn(f, b)
            best = min(best, time.process_time() - t0)
        out[name] = round(1000 * best / len(work), 3)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", type=Path, default=SHARED / "datasets" / "peta-dev")
    p.add_argument("--footage", type=Path, default=SHARED / "footage", help="frames for the cost per detection")
    p.add_argument("--models", type=Path, default=Path(os.environ.get("FORENSIC_MODELS", SHARED / "models")))
    p.add_argument("--detector", default="yolo11n.pt")
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--canvas", default=f"{CANVAS[0]}x{CANVAS[1]}", help="canvas WxH the crops are pasted on [1280x720]")
    p.add_argument("--cache", type=Path, default=Path("/tmp/forensic-reid-cache"), help="detection cache folder ('' for none)")
    p.add_argument("--tune", action="store_true", help="leave-one-subset-out tuning of appearance-v2's weights")
    p.add_argument("--within-footage", type=Path, nargs="+", metavar="INDEX",
                   help="indexes of ../shared/footage built by bench/relevance.py, one per appearance version: "
                        "the same object 2 s later in the same camera, people and vehicles")
    p.add_argument("--json", type=Path)
    args = p.parse_args()

    from forensic.models import build_models
    from forensic.models.appearance import DETECTOR_WEIGHT, PART_WEIGHTS, AppearanceEmbedderV1, part_histograms
    from forensic.settings import Settings

    started = datetime.now().isoformat(timespec="seconds")
    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    print(f"command:  {command}")
    print(f"date:     {started}   code: {git_state()}")
    m = machine()
    print(f"machine:  {m['nproc']} CPUs ({m['cpu']}), GPU: {m['gpu'] or 'none'}, python {m['python']}; load {load_average()}")
    canvas_size = tuple(int(v) for v in args.canvas.lower().split("x"))
    crops = load_crops(args.dataset)
    queries = query_mask(crops)
    settings = Settings(models=args.models, detector=args.detector, imgsz=args.imgsz, clip="off")
    models = build_models(settings)
    print(f"detector: {models.detector.name} ({models.detector.backend}), imgsz {args.imgsz}; canvas {canvas_size[0]}x{canvas_size[1]}")
    dets = subjects(models, crops, canvas_size, args.cache if str(args.cache) else None)
    found = sum(str(d.class_name[0]) != "object" for d in dets)
    print(f"crops:    {len(crops)} ({found} with a detected subject, the rest embedded whole as photo search does); "
          f"queries {int(queries.sum())}")

    results, within = {}, {}
    vectors = {}
    for emb in (AppearanceEmbedderV1(models.detector), models.appearance):
        vecs = embed_all(emb, crops, dets, canvas_size)
        vectors[emb.name] = vecs
        results[emb.name] = evaluate(vecs @ vecs.T, crops, queries)
        within[emb.name] = within_subset(vecs @ vecs.T, crops, queries)
    g = results[models.appearance.name]["gallery"]
    print(f"\ngallery: every crop from another camera ({g[0]}-{g[1]} crops)")
    print(table(results))
    print("\ngallery kept to the query's subset, other cameras (no other-dataset distractors)")
    print(table(within))
    cost = cost_per_detection(models, args.footage) if args.footage.is_dir() else {}
    if cost:
        print(f"\ncost of the hand-made part, ms per detection (process time, best of 5, {cost['detections']} detections of "
              f"real frames): appearance-v1 {cost['appearance-v1']}, appearance-v2 {cost['appearance-v2']}")
    report = {"command": command, "started": started, "machine": m, "code": git_state(), "canvas": list(canvas_size),
              "detector": models.detector.name, "backend": models.detector.backend, "results": results,
              "within_subset": within, "cost_ms_per_detection": cost}
    if args.tune:
        parts = np.stack([part_histograms(canvas_of(c, canvas_size), d.xyxy[0]) for c, d in zip(crops, dets)])
        features = np.concatenate([d.features for d in dets])
        shipped = similarity(features, parts, DETECTOR_WEIGHT, PART_WEIGHTS)
        vecs = vectors[models.appearance.name]
        assert np.allclose(shipped, vecs @ vecs.T, atol=1e-4), "the tuning similarity is not the embedder's"
        loso = tune(features, parts, crops, queries)
        print(f"\nleave-one-subset-out (best mAP on one subset, over detector weight {DETECTOR_WEIGHTS} and part "
              f"weights on a 0.2 grid; shipped: detector {DETECTOR_WEIGHT}, parts {PART_WEIGHTS})")
        for name, t in loso.items():
            s = t["score"]
            print(f"  {name:22s} detector {t['detector_weight']:.2f} parts {t['part_weights']} -> {t['scored_on']}: "
                  + " ".join(f"r{k} {100 * s[f'rank{k}']:.1f}%" for k in RANKS) + f" mAP {100 * s['mAP']:.1f}%")
        report["leave_one_subset_out"] = loso
    if args.within_footage:
        same = within_footage(args.within_footage)
        print(f"\nwithin footage: a tracked detection finds its own track >= 2 s away first (rank 1 / top 5), among "
              f"its class group; tracks of {args.within_footage[0]}")
        for model, groups in same.items():
            print(f"  {model:24s} " + "; ".join(f"{g} {r['rank1']:.3f} / {r['rank5']:.3f} ({r['queries']})" for g, r in groups.items()))
        report["within_footage"] = same
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
