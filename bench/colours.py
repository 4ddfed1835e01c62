#!/usr/bin/env python3
"""Colour naming measured on third-party labels the code was not written against.

- People (`../shared/datasets/peta-dev`: 1,319 pedestrian crops from five PETA source datasets,
  research-only: measured and calibrated on, never shipped): is the first colour named for the top
  (and for the bottom) one of the person's labelled colours? Next to it the baseline of always
  answering the commonest colour ("black"), per subset, with pose keypoints (the product's path for a
  track's best views) and without (box proportions, the per-detection path).
- Leave-one-subset-out: the 5 calibrated numbers of forensic.colors.CALIBRATION are chosen on a
  small grid around their values with four subsets and scored on the fifth, so a number that only
  suits one camera shows up (`--loso`; slower).
- Ceiling (`--ceiling`): how far colour statistics of the same body parts can go at all: a softmax
  regression fitted on these very crops' part features (the 11 shares, lightness percentiles, mean
  and median a/b, the crop's own lightness range), scored leave-one-subset-out and on a random
  5-fold split; then the same with the only learned image features this project has offline (the
  detector's, pooled over the part as the indexer pools them over a box), alone and added. A
  measurement only: nothing fitted here is kept or shipped.
- By eye (`--by-eye bench/peta_by_eye.csv`): the colours one of us named for the top and bottom of 80
  random crops, looking at each crop enlarged (without the labels), scored like the code: how often
  a careful person agrees with the labellers, next to the code and the baseline on the same crops.
- Vehicles (`../shared/datasets/vehicle_colour_web9`, web photos, unknown licence, measure only):
  first colour named for the body against the folder's colour (silver counts as grey).

    .venv/bin/python bench/colours.py [--no-pose] [--loso] [--ceiling] [--by-eye bench/peta_by_eye.csv] [--json out.json]
"""

from __future__ import annotations

import argparse
import collections
import csv
import itertools
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED, git_state, machine  # noqa: E402

sys.path.insert(0, str(ROOT))
from forensic import colors  # noqa: E402
from forensic.query.vocabulary import PALETTE  # noqa: E402

PETA = SHARED / "datasets" / "peta-dev"
WEB9 = SHARED / "datasets" / "vehicle_colour_web9"
PARTS = (("upper", "upper_colours"), ("lower", "lower_colours"))


def load_peta() -> list[dict]:
    import cv2

    rows = list(csv.DictReader(open(PETA / "labels.csv", encoding="utf-8")))
    for r in rows:
        r["img"] = cv2.imread(str(PETA / r["image"]))
    return rows


def peta_keypoints(rows: list[dict], models: Path) -> list:
    from forensic.models.pose import PoseEstimator

    pose = PoseEstimator(models_dir=models)
    out = []
    for r in rows:
        h, w = r["img"].shape[:2]
        out.append(pose.keypoints(r["img"], [(0, 0, w, h)])[0])
    return out


def name_people(rows, keypoints, calibration=None) -> list[dict]:
    saved = dict(colors.CALIBRATION)
    if calibration:
        colors.CALIBRATION.update(calibration)
    try:
        out = []
        for r, kp in zip(rows, keypoints):
            h, w = r["img"].shape[:2]
            c = colors.describe_colors(r["img"], (0, 0, w, h), True, keypoints=kp)
            out.append({part: (c.names(part, 0.0) or ["none"])[0] for part, _ in PARTS})
        return out
    finally:
        colors.CALIBRATION.clear()
        colors.CALIBRATION.update(saved)


def score(rows, named, subsets=None, images=None) -> dict:
    """Share of crops (of `subsets`, of `images`: all when None) whose first named colour is one of the
    labels, per part and per (part, subset), next to always answering the commonest colour of all crops."""
    ok, n, base = collections.Counter(), collections.Counter(), collections.Counter()
    commonest = {}
    for part, key in PARTS:
        counts = collections.Counter(c for r in rows for c in r[key].split(";") if c)
        commonest[part] = counts.most_common(1)[0][0]
    for r, got in zip(rows, named):
        if (subsets and r["subset"] not in subsets) or (images is not None and r["image"] not in images):
            continue
        for part, key in PARTS:
            labels = set(r[key].split(";")) - {""}
            if not labels:
                continue
            for k in (part, (part, r["subset"])):
                n[k] += 1
                ok[k] += got[part] in labels
                base[k] += commonest[part] in labels
    return {"accuracy": {str(k): round(ok[k] / n[k], 3) for k in n}, "baseline": {str(k): round(base[k] / n[k], 3) for k in n},
            "n": {str(k): n[k] for k in n}, "commonest": commonest}


GRID = {"chroma": (8.0, 10.0, 12.0), "chroma_dark": (4.0, 8.0, 12.0), "black_l": (30.0, 34.0, 38.0), "white_l": (55.0, 60.0, 65.0)}


def leave_one_subset_out(rows, keypoints) -> dict:
    """Choose the calibration on four subsets, score the fifth; per held-out subset and pooled."""
    subsets = sorted({r["subset"] for r in rows})
    trials = []
    for values in itertools.product(*GRID.values()):
        cal = dict(zip(GRID, values))
        trials.append((cal, name_people(rows, keypoints, cal)))
    pooled = collections.Counter()
    held = {}
    for s in subsets:
        rest = [x for x in subsets if x != s]

        def fit(trial):
            acc = score(rows, trial[1], rest)["accuracy"]
            return acc["upper"] + acc["lower"]

        cal, named = max(trials, key=fit)
        res = score(rows, named, [s])
        held[s] = {"calibration": cal, "upper": res["accuracy"]["upper"], "lower": res["accuracy"]["lower"]}
        for part in ("upper", "lower"):
            pooled[part, "ok"] += res["accuracy"][part] * res["n"][part]
            pooled[part, "n"] += res["n"][part]
    return {"held_out": held, "pooled": {p: round(pooled[p, "ok"] / pooled[p, "n"], 3) for p in ("upper", "lower")}}


def part_features(rows, keypoints) -> dict[str, np.ndarray]:
    """Per crop and part, the colour statistics a rule could use: the 11 term shares of its pixels, their
    lightness percentiles, mean and median a/b, mean chroma, and the whole crop's lightness range."""
    out = {"upper": [], "lower": []}
    for r, kp in zip(rows, keypoints):
        img = r["img"]
        h, w = img.shape[:2]
        step = max(1, -(-max(w, h) // colors.PATCH))
        patch = img[::step, ::step]
        top = bottom = None
        if kp is not None:
            k = np.asarray(kp, np.float32).copy()
            k[:, :2] /= step
            top, bottom, _ = colors.body_masks(patch.shape[:2], k)
        top = top if top is not None and top.sum() >= 6 else colors._rect(patch.shape[:2], colors._TOP)
        bottom = bottom if bottom is not None and bottom.sum() >= 6 else colors._rect(patch.shape[:2], colors._BOTTOM)
        whole_l = _lab3(patch.reshape(-1, 3))[0]
        for part, mask in (("upper", top), ("lower", bottom)):
            px = patch[mask]
            lum, a, b = _lab3(px)
            out[part].append(list(colors.term_probabilities(px).mean(0)) + list(np.percentile(lum, [10, 25, 50, 75, 90]))
                             + [a.mean(), b.mean(), np.median(a), np.median(b), np.hypot(a, b).mean()]
                             + list(np.percentile(whole_l, [2, 50, 98])))
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def _lab3(px):
    import cv2

    lab = cv2.cvtColor(np.ascontiguousarray(px.reshape(-1, 1, 3)), cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float64)
    return lab[:, 0] * 100 / 255, lab[:, 1] - 128, lab[:, 2] - 128


def _softmax_fit(x, y, classes, l2=1e-2, steps=400, rate=0.1):
    """Multinomial logistic regression by full-batch gradient descent (numpy only): weights, bias, mean, scale."""
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    onehot = np.eye(classes)[y]
    wts, bias = np.zeros((z.shape[1], classes)), np.zeros(classes)
    for _ in range(steps):
        logits = z @ wts + bias
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = (p - onehot) / len(z)
        wts -= rate * (z.T @ grad + l2 * wts)
        bias -= rate * grad.sum(0)
    return wts, bias, mean, scale


def detector_part_features(rows, keypoints, models: Path) -> dict[str, np.ndarray]:
    """Per crop and part, the detector's features pooled over the part's box (from the keypoints, else
    the fixed proportions; `--no-pose`: always those), the crop enlarged to 384 px high on a 640x640 grey canvas."""
    import cv2

    from forensic.models import build_models
    from forensic.settings import Settings

    det = build_models(Settings(models=models, clip="off")).detector
    out = {"upper": [], "lower": []}
    for r, kp in zip(rows, keypoints):
        img = r["img"]
        h, w = img.shape[:2]
        s = min(384 / h, 600 / w)
        im = cv2.resize(img, (max(8, round(w * s)), max(8, round(h * s))))
        canvas = np.full((640, 640, 3), 114, np.uint8)
        ox, oy = (640 - im.shape[1]) // 2, (640 - im.shape[0]) // 2
        canvas[oy:oy + im.shape[0], ox:ox + im.shape[1]] = im
        boxes = []
        for frac, ids, need in ((colors._TOP, (5, 6, 11, 12), 4), (colors._BOTTOM, (11, 12, 13, 14, 15, 16), 3)):
            x0, x1, y0, y1 = frac[0] * w, frac[1] * w, frac[2] * h, frac[3] * h
            if kp is not None:  # the part's box from its keypoints when enough are sure (the top: all four, as body_masks)
                p = np.asarray(kp, np.float32)[list(ids)]
                p = p[p[:, 2] >= colors.KEYPOINT_CONF]
                if len(p) >= need:
                    (x0, y0), (x1, y1) = p[:, :2].min(0), np.maximum(p[:, :2].max(0), p[:, :2].min(0) + 4)
            boxes.append([ox + x0 * s, oy + y0 * s, ox + x1 * s, oy + y1 * s])
        f = det.pool_boxes(canvas, np.asarray(boxes, np.float32))
        out["upper"].append(f[0])
        out["lower"].append(f[1])
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def ceiling(rows, keypoints, models: Path | None = None) -> dict:
    """Accuracy of a softmax regression fitted on these crops' part features: leave-one-subset-out and
    random 5-fold; with `models`, also on the detector's features pooled over the part, alone and added."""
    feature_sets = {"colour statistics": part_features(rows, keypoints)}
    if models is not None:
        deep = detector_part_features(rows, keypoints, models)
        feature_sets["detector features"] = deep
        feature_sets["both"] = {p: np.hstack([feature_sets["colour statistics"][p], deep[p]]) for p in deep}
    subsets = np.array([r["subset"] for r in rows])
    folds = np.random.default_rng(0).integers(0, 5, len(rows))
    labels = {part: [set(r[key].split(";")) - {""} for r in rows] for part, key in PARTS}
    first = {part: np.array([PALETTE.index(sorted(lab, key=PALETTE.index)[0]) if lab else -1 for lab in labels[part]])
             for part, _ in PARTS}
    out = {}
    for name, feats in feature_sets.items():
        out[name] = {}
        for part, _ in PARTS:
            x, y = feats[part], first[part]
            res = {}
            for split, groups in (("leave_one_subset_out", subsets), ("random_5_fold", folds)):
                ok = n = 0
                for g in np.unique(groups):
                    train, test = (groups != g) & (y >= 0), (groups == g) & (y >= 0)
                    wts, bias, mean, scale = _softmax_fit(x[train], y[train], len(PALETTE))
                    guess = (((x[test] - mean) / scale) @ wts + bias).argmax(1)
                    ok += sum(PALETTE[c] in labels[part][i] for c, i in zip(guess, np.flatnonzero(test)))
                    n += int(test.sum())
                res[split] = round(ok / n, 3)
            out[name][part] = res
    return out


def by_eye(rows, named, path: Path) -> dict:
    """Agreement with the labels of the colours a person named in `path` (image, upper, lower), next to
    the code's first colour and the always-commonest baseline on the same crops."""
    eye = {r["image"]: r for r in csv.DictReader(open(path, encoding="utf-8"))}
    seen = score(rows, [{part: eye.get(r["image"], {}).get(part, "none") for part, _ in PARTS} for r in rows], images=eye)
    code = score(rows, named, images=eye)
    return {part: {"n": code["n"][part], "eye": seen["accuracy"][part], "code": code["accuracy"][part],
                   "baseline": code["baseline"][part]} for part, _ in PARTS if part in code["n"]}


def vehicles() -> dict:
    import cv2

    rows = list(csv.DictReader(open(WEB9 / "labels.csv", encoding="utf-8")))
    ok, n = collections.Counter(), collections.Counter()
    confusion = collections.Counter()
    for r in rows:
        img = cv2.imread(str(WEB9 / r["image"]))
        h, w = img.shape[:2]
        got = (colors.describe_colors(img, (0, 0, w, h), False).names("whole", 0.0) or ["none"])[0]
        want = "grey" if r["colour"] == "silver" else r["colour"]
        n[want] += 1
        ok[want] += got == want
        if got != want:
            confusion[f"{want}->{got}"] += 1
    total = sum(ok.values()) / sum(n.values())
    return {"accuracy": round(total, 3), "per_colour": {k: round(ok[k] / n[k], 3) for k in sorted(n)},
            "baseline": round(max(n.values()) / sum(n.values()), 3), "confusions": dict(confusion.most_common(8))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-pose", action="store_true", help="box proportions only")
    ap.add_argument("--loso", action="store_true", help="leave-one-subset-out calibration (slower)")
    ap.add_argument("--ceiling", action="store_true", help="what a classifier fitted on these crops' colour statistics (and detector features) reaches")
    ap.add_argument("--by-eye", type=Path, help="CSV (image, upper, lower) of colours a person named: their agreement with the labels")
    ap.add_argument("--models", type=Path, default=SHARED / "models")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if not PETA.exists():
        print(f"{PETA} is missing: this bench needs ../shared/datasets beside the checkout", file=sys.stderr)
        return 2
    started = time.perf_counter()
    rows = load_peta()
    report = {"command": " ".join(["bench/colours.py"] + (argv if argv is not None else sys.argv[1:])),
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "code": git_state(), "machine": machine(),
              "calibration": dict(colors.CALIBRATION)}
    box = [None] * len(rows)
    t = time.perf_counter()
    named = name_people(rows, box)
    report["people_box"] = score(rows, named)
    report["people_box"]["ms_per_crop"] = round(1000 * (time.perf_counter() - t) / len(rows), 2)
    keypoints = box
    if not args.no_pose:
        t = time.perf_counter()
        keypoints = peta_keypoints(rows, args.models)
        pose_ms = 1000 * (time.perf_counter() - t) / len(rows)
        named = name_people(rows, keypoints)
        report["people_pose"] = score(rows, named)
        report["people_pose"]["pose_ms_per_crop"] = round(pose_ms, 1)
        report["people_pose"]["with_keypoints"] = sum(k is not None for k in keypoints)
    if args.loso:
        report["leave_one_subset_out"] = leave_one_subset_out(rows, keypoints)
    if args.ceiling:
        report["ceiling"] = ceiling(rows, keypoints, args.models)
    if args.by_eye:
        report["by_eye"] = by_eye(rows, named, args.by_eye)
    if WEB9.exists():
        report["vehicles_web9"] = vehicles()
    report["seconds"] = round(time.perf_counter() - started, 1)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


def print_report(r: dict) -> None:
    print(f"# colour naming  {r['date']}  code {r['code']}  {r['machine']['cpu']} x{r['machine']['nproc']}")
    subsets = sorted({k.split("'")[3] for k in r["people_box"]["accuracy"] if k.startswith("(")})
    for key in ("people_box", "people_pose"):
        if key not in r:
            continue
        res = r[key]
        print(f"\n{key}: first colour named is one of the labels (baseline: always '{res['commonest']['upper']}' / "
              f"'{res['commonest']['lower']}')")
        print(f"  {'subset':<12} {'n':>5} {'top':>6} {'base':>6} {'bottom':>7} {'base':>6}")
        for s in subsets + [None]:
            ku, kl = ("upper", "lower") if s is None else (str(("upper", s)), str(("lower", s)))
            print(f"  {s or 'all':<12} {res['n'][ku]:>5} {res['accuracy'][ku]:>6.3f} {res['baseline'][ku]:>6.3f} "
                  f"{res['accuracy'][kl]:>7.3f} {res['baseline'][kl]:>6.3f}")
    if "leave_one_subset_out" in r:
        lo = r["leave_one_subset_out"]
        print(f"\nleave-one-subset-out (calibrated on 4, scored on the 5th): top {lo['pooled']['upper']:.3f}, bottom {lo['pooled']['lower']:.3f}")
        for s, v in lo["held_out"].items():
            print(f"  {s:<12} top {v['upper']:.3f} bottom {v['lower']:.3f}  {v['calibration']}")
    if "ceiling" in r:
        print("\nceiling: a softmax regression fitted on these crops' part features (measurement only)")
        for name, c in r["ceiling"].items():
            for part in ("upper", "lower"):
                print(f"  {name:<18} {part:<6} leave-one-subset-out {c[part]['leave_one_subset_out']:.3f}   "
                      f"random 5-fold {c[part]['random_5_fold']:.3f}")
    if "by_eye" in r:
        print("\nby eye: first colour a person named, the code's and the baseline's, on the same crops")
        for part, v in r["by_eye"].items():
            print(f"  {part:<6} n {v['n']:>3}  eye {v['eye']:.3f}  code {v['code']:.3f}  baseline {v['baseline']:.3f}")
    if "vehicles_web9" in r:
        v = r["vehicles_web9"]
        print(f"\nvehicles (web9): {v['accuracy']:.3f} (baseline {v['baseline']:.3f}) {v['per_colour']}\n  confusions {v['confusions']}")


if __name__ == "__main__":
    sys.exit(main())
