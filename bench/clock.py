"""The recorder's on-screen clock: what reading it costs per recording, and what it reads.

For each dev clip, `forensic.index.clock.recording_clock` as indexing runs it (frames sought, region read,
checked, weighed against the file's time), --repeat times; the text recogniser is loaded once before (its
load time is reported apart: once per indexing run). The crossroad clip has a clock (top right,
"%d/%m/%Y %H:%M:%S"); the other clips have none where the region is, so they show what a camera configured
wrongly costs (the clock is read, found unreadable, and not used). Seeking and reading are timed apart.

    .venv/bin/python bench/clock.py
    .venv/bin/python bench/clock.py --repeat 5 --json /tmp/clock.json
    .venv/bin/python bench/clock.py --auto                  # osd = "auto" (text detector + reader)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forensic.cameras import Camera  # noqa: E402
from forensic.index import clock as clock_mod  # noqa: E402
from forensic.index.clock import recording_clock, sample_times  # noqa: E402
from forensic.models.clock import ClockReader  # noqa: E402
from forensic.osd import osd_spec  # noqa: E402
from forensic.timestamps import recording_start  # noqa: E402
from forensic.video import frames_at, probe  # noqa: E402

FOOTAGE = ROOT.parent / "shared" / "footage"
CLIPS = ["vn_crossroad_acview_day.mp4", "vn_truccat_crossroad_day.mp4", "uk_campus_pedestrians_vtest.avi", "night_ir_yard_person.mp4"]
SPEC = {"region": [0.74, 0, 1, 0.06], "format": "%d/%m/%Y %H:%M:%S"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--auto", action="store_true", help='osd = "auto": the clock is looked for in each recording')
    args = ap.parse_args()
    reader = ClockReader()
    t0 = time.perf_counter()
    reader.rec
    if args.auto:
        reader.det
    load = time.perf_counter() - t0
    camera = Camera("bench", "bench", osd=osd_spec("auto" if args.auto else SPEC))
    rows = []
    for name in CLIPS:
        path = FOOTAGE / name
        if not path.is_file():
            print(f"skipped {name}: not in {FOOTAGE}")
            continue
        info = probe(path)
        file_start, file_source = recording_start(path, info.duration, camera.timezone)
        totals, seeks, reads = [], [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            frames_at(info, sample_times(info.duration))
            seeks.append(time.perf_counter() - t0)
            before = reader.seconds
            t0 = time.perf_counter()
            start, source, clock = recording_clock(path, info, camera, reader, file_start, file_source)
            totals.append(time.perf_counter() - t0)
            reads.append(reader.seconds - before)
        row = {"clip": name, "duration": round(info.duration, 1), "size": f"{info.width}x{info.height}",
               "frames_read": len(sample_times(info.duration)), "seconds": round(statistics.median(totals), 3),
               "seek_seconds": round(statistics.median(seeks), 3), "ocr_seconds": round(statistics.median(reads), 3),
               "status": clock["status"], "found": [clock["format"], clock["region"]] if args.auto else None,
               "clock_start": clock["start"], "source": source, "disagreement": clock["disagreement"],
               "texts": [r["text"] for r in clock["readings"]]}
        rows.append(row)
        print(f"{name:34s} {row['duration']:6.1f} s {row['size']:>9s}  {row['frames_read']} frames  {row['seconds']:.2f} s "
              f"(seek {row['seek_seconds']:.2f}, OCR {row['ocr_seconds']:.2f})  {row['status']}  {row['clock_start'] or ''} -> {source}")
    print(f"text recogniser load: {load:.2f} s (once per run); {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"{datetime.now().astimezone().isoformat(timespec='minutes')}; SHORT/LONG frames {clock_mod.SHORT_FRAMES}/{clock_mod.LONG_FRAMES}")
    if args.json:
        args.json.write_text(json.dumps({"load_seconds": round(load, 3), "clips": rows}, indent=1))


if __name__ == "__main__":
    main()
