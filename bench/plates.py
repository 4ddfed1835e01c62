"""Licence plates: how well and how fast the plate reader reads, and what plates cost at index time.

1. Reader accuracy on `../shared/datasets/vn_plate_ocr_crops` val (304 Vietnamese plate crops; a plate
   crop goes straight to the reader, no detector): exact-text accuracy of the normalised plate (letters
   and digits only) and character accuracy (1 - edit distance / label length), and OCR milliseconds per
   plate (lines split and recognised, batch of 1 and of 16). CAVEAT: the labels are machine-made
   (PaddleOCR), about 12 % are wrong (the dataset's README), so the true accuracy is uncertain by
   about that much; the set is research/internal only and nothing of it goes into the repository.
2. Index-time overhead and read rate on the Vietnamese dev clips: `forensic index` in-process on each
   clip with plates and without (default settings unless --imgsz/--fps), interleaved, median of
   --repeat runs; read rate = vehicle tracks of at least 2 detections with a plate stored / all such
   tracks.

    .venv/bin/python bench/plates.py                       # both parts
    .venv/bin/python bench/plates.py --part reader         # accuracy only
    .venv/bin/python bench/plates.py --part index --repeat 3
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import SHARED, git_state, load_average, machine  # noqa: E402

DATASET = SHARED / "datasets" / "vn_plate_ocr_crops"
MODELS = SHARED / "models"
CLIPS = ("vn_crossroad_acview_day.mp4", "vn_truccat_crossroad_day.mp4", "vn_boulevard_motorbikes_day.mp4")


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def reader_accuracy(limit: int | None) -> dict:
    import cv2

    from forensic.models.plates import PlateReader
    from forensic.plates import normalise_plate

    reader = PlateReader(MODELS)
    rows = [r for r in csv.DictReader(open(DATASET / "texts.csv", encoding="utf-8")) if r["split"] == "val"][:limit]
    images = [cv2.imread(str(DATASET / r["image"])) for r in rows]
    reader.read_plates(images[:2])  # warm up (model load, first-call allocations)
    exact = exact_raw = chars = total = 0
    by_rows: dict[str, list[int]] = {}
    single = []
    wrong = []
    for r, image in zip(rows, images):
        t0 = time.perf_counter()
        read = reader.read_plates([image])[0]
        single.append(time.perf_counter() - t0)
        label = normalise_plate(r["text"])
        got = read.norm if read else ""
        raw = normalise_plate(read.raw) if read else ""
        exact += got == label
        exact_raw += raw == label
        chars += max(0, len(label) - levenshtein(got, label))
        total += len(label)
        by_rows.setdefault(r["rows"], []).append(got == label)
        if got != label and len(wrong) < 12:
            wrong.append((r["text"], read.raw if read else None))
    t0 = time.perf_counter()
    for k in range(0, len(images), 16):
        reader.read_plates(images[k:k + 16])
    batched = (time.perf_counter() - t0) / len(images)
    n = len(rows)
    return {"plates": n, "exact": round(exact / n, 4), "exact_as_read": round(exact_raw / n, 4), "char_accuracy": round(chars / total, 4),
            "exact_by_lines": {k: round(sum(v) / len(v), 4) for k, v in by_rows.items()},
            "ms_per_plate_batch1_median": round(1000 * statistics.median(single), 1),
            "ms_per_plate_batch16": round(1000 * batched, 1), "examples_wrong": wrong}


def index_once(clip: Path, plates: bool, imgsz: int | None, fps: float | None, models) -> dict:
    from forensic.index.pipeline import IndexSummary, index_videos
    from forensic.index.store import IndexStore
    from forensic.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({}, index=Path(tmp) / "idx", models=MODELS, plates=plates, clip="off", settle=0.0, device="cpu",
                                     **({"imgsz": imgsz} if imgsz else {}), **({"fps": fps} if fps else {}))
        summary = IndexSummary()
        cpu = time.process_time()
        before = dict(models.plates.seconds)
        with IndexStore(settings.index, writer=True) as store:
            list(index_videos([clip], store, models, settings, summary))
            cpu = time.process_time() - cpu
            tracks = store.db.execute("SELECT COUNT(*) FROM tracks WHERE cls IN ('car','truck','bus','motorcycle') AND n>=2").fetchone()[0]
            read = store.db.execute("SELECT COUNT(*) FROM plates p JOIN tracks t ON t.id=p.track WHERE t.n>=2").fetchone()[0]
            texts = [r[0] for r in store.db.execute("SELECT display FROM plates ORDER BY conf DESC")]
    return {"wall": summary.wall_seconds, "cpu": cpu, "plates_stage": summary.stage_seconds.get("plates", 0.0), "vehicle_tracks": tracks,
            "plate_detector_s": models.plates.seconds["detect"] - before["detect"], "reader_s": models.plates.seconds["read"] - before["read"],
            "plates_read": read, "texts": texts}


def index_overhead(repeat: int, imgsz: int | None, fps: float | None, clips=CLIPS) -> dict:
    from forensic.models import build_models
    from forensic.settings import Settings

    settings = Settings.from_env({}, models=MODELS, clip="off", device="cpu", **({"imgsz": imgsz} if imgsz else {}))
    models = build_models(settings)  # one set of models for every run: loading is not indexing
    if models.plates is None:
        raise SystemExit("the plate reader is not installed or its weights are missing")
    out = {}
    for name in clips:
        clip = SHARED / "footage" / name
        index_once(clip, True, imgsz, fps, models)  # warm up every model on this clip's sizes
        runs: dict[bool, list[dict]] = {True: [], False: []}
        for _ in range(repeat):
            for plates in (False, True):
                runs[plates].append(index_once(clip, plates, imgsz, fps, models))
        on = statistics.median(r["wall"] for r in runs[True])
        off = statistics.median(r["wall"] for r in runs[False])
        last = runs[True][-1]
        cpu_on = statistics.median(r["cpu"] for r in runs[True])
        cpu_off = statistics.median(r["cpu"] for r in runs[False])
        out[name] = {"wall_no_plates_s": round(off, 2), "wall_plates_s": round(on, 2), "overhead": round(on / off - 1, 4),
                     "cpu_no_plates_s": round(cpu_off, 2), "cpu_plates_s": round(cpu_on, 2), "cpu_overhead": round(cpu_on / cpu_off - 1, 4),
                     "plate_detector_s": round(statistics.median(r["plate_detector_s"] for r in runs[True]), 2),
                     "reader_s": round(statistics.median(r["reader_s"] for r in runs[True]), 2),
                     "plates_stage_s": round(statistics.median(r["plates_stage"] for r in runs[True]), 2),
                     "vehicle_tracks": last["vehicle_tracks"], "plates_read": last["plates_read"],
                     "read_rate": round(last["plates_read"] / last["vehicle_tracks"], 3) if last["vehicle_tracks"] else None,
                     "texts": last["texts"][:12]}
    total_on = sum(v["wall_plates_s"] for v in out.values())
    total_off = sum(v["wall_no_plates_s"] for v in out.values())
    cpu_on = sum(v["cpu_plates_s"] for v in out.values())
    cpu_off = sum(v["cpu_no_plates_s"] for v in out.values())
    out["all"] = {"wall_no_plates_s": round(total_off, 2), "wall_plates_s": round(total_on, 2), "overhead": round(total_on / total_off - 1, 4),
                  "cpu_no_plates_s": round(cpu_off, 2), "cpu_plates_s": round(cpu_on, 2), "cpu_overhead": round(cpu_on / cpu_off - 1, 4)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("reader", "index", "all"), default="all")
    ap.add_argument("--limit", type=int, help="Only the first N val crops.")
    ap.add_argument("--repeat", type=int, default=2, help="Index runs per clip and setting (median).")
    ap.add_argument("--imgsz", type=int, help="Detector input size for the index part [the default, 640].")
    ap.add_argument("--fps", type=float, help="Sampled frames per second for the index part [the default, 2].")
    ap.add_argument("--clip", action="append", choices=CLIPS, help="Only this dev clip (repeatable) [all three].")
    args = ap.parse_args()
    report = {"date": datetime.now().astimezone().isoformat(timespec="seconds"), "code": git_state(), "machine": machine(),
              "load_start": load_average()}
    if args.part in ("reader", "all"):
        report["reader"] = reader_accuracy(args.limit)
        print(json.dumps({"reader": report["reader"]}, ensure_ascii=False, indent=1), flush=True)
    if args.part in ("index", "all"):
        report["index"] = index_overhead(args.repeat, args.imgsz, args.fps, tuple(args.clip or CLIPS))
    report["load_end"] = load_average()
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
