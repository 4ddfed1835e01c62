#!/usr/bin/env python3
"""What the index writer's search-columns sync costs as an index grows: time, peak memory and bytes written
(a) to build the columns of N detections from nothing and (b) to fold in the rows of about one more
camera-hour (what a `forensic index` run does every IndexStore.SYNC_EVERY = 20,000 detections), by the
appending writer (forensic.index.columns.sync) and, on the same rows, the way before it (everything
rebuilt in memory and the whole file rewritten: columns.refresh + columns.save).

Rows come from bench/search_speed.py's synthetic builder (its `build`, without CLIP); only the columns
file is written here (the FAISS files are not). Each step runs in its own process so its memory is its
own: `heap peak` is tracemalloc's (numpy's arrays included), `VmHWM` the process's peak resident set
(mapped file pages included).

    .venv/bin/python bench/columns_sync.py --index /tmp/cols1m --detections 1000000
    .venv/bin/python bench/columns_sync.py --index /tmp/cols1m --reuse          # the steps again
    .venv/bin/python bench/columns_sync.py --index /tmp/cols1m --reuse --remove-only   # only taking videos out

The remove steps take the oldest thirtieth of the videos out (a day of a 30-day window, as `forensic
prune` does each night) and fold that in: the appending writer copies the file without their rows, the
way before rebuilt everything in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FRESH = 20_000  # rows held back and folded in afterwards: about one camera-hour at the dev footage's density
OLD_NAME = "search-columns-before.bin"  # the file the way before writes (beside the real one)


def io_written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run_step(name: str, root: Path) -> dict:
    from forensic.index import columns
    from forensic.index.store import DB_NAME

    path, old = root / columns.FILE_NAME, root / OLD_NAME
    db = sqlite3.connect(root / DB_NAME, isolation_level=None)
    cols = None
    if name in ("append", "remove"):  # what the writer holds: the file it mapped at its last sync, not read through
        cols = columns._loaded(path)
    elif name in ("append-before", "remove-before"):
        cols = columns.load(old)
    tracemalloc.start()
    written, start = io_written(), time.perf_counter()
    if name in ("build", "append", "remove"):
        cols, rows = columns.sync(path, db, cols)
    else:
        cols, rows = columns.refresh(cols, db)
        columns.save(cols, old)
    seconds = time.perf_counter() - start
    heap = tracemalloc.get_traced_memory()[1]
    return {"step": name, "rows_written": rows, "rows": len(cols), "seconds": round(seconds, 3),
            "written_mb": round((io_written() - written) / 2**20, 1), "heap_peak_mb": round(heap / 2**20, 1), "VmHWM_mb": hwm_mb()}


def step(name: str, root: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--step", name, "--index", str(root)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"step {name} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def hold(root: Path, fresh: int, status: str) -> list[int]:
    """Mark the newest videos holding about `fresh` rows as not yet finished (or finished again)."""
    from forensic.index.store import DB_NAME

    db = sqlite3.connect(root / DB_NAME, isolation_level=None)
    videos, rows = [], 0
    for vid, n in db.execute("SELECT video_id, COUNT(*) FROM detections GROUP BY video_id ORDER BY video_id DESC"):
        videos.append(vid)
        rows += n
        if rows >= fresh:
            break
    db.execute(f"UPDATE videos SET status=? WHERE id IN ({','.join('?' * len(videos))})", (status, *videos))
    db.close()
    return videos


def remove(root: Path, share: float, status: str, videos: list[int] | None = None) -> list[int]:
    """Take the oldest `share` of the videos out of the finished ones (or put `videos` back)."""
    from forensic.index.store import DB_NAME

    db = sqlite3.connect(root / DB_NAME, isolation_level=None)
    if videos is None:
        ids = [r[0] for r in db.execute("SELECT id FROM videos WHERE status='done' ORDER BY id")]
        videos = ids[:max(1, int(len(ids) * share))]
    db.execute(f"UPDATE videos SET status=? WHERE id IN ({','.join('?' * len(videos))})", (status, *videos))
    db.close()
    return videos


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--detections", type=int, default=1_000_000)
    p.add_argument("--fresh", type=int, default=FRESH, help="rows folded in by the append steps")
    p.add_argument("--reuse", action="store_true", help="measure the index already in --index")
    p.add_argument("--remove", type=float, default=1 / 30, help="share of the videos (the oldest) the remove steps take out")
    p.add_argument("--remove-only", action="store_true", help="with --reuse: only the remove steps, on the files there")
    p.add_argument("--json", type=Path)
    p.add_argument("--step", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.step:
        print(json.dumps(run_step(args.step, args.index)))
        return 0

    from common import git_state, load_average
    from forensic.index import columns
    from search_speed import build

    report = {"date": datetime.now().astimezone().isoformat(timespec="seconds"), "code": git_state(), "nproc": os.cpu_count(),
              "load_start": load_average()}
    if not args.reuse:
        if args.index.exists() and any(args.index.iterdir()):
            raise SystemExit(f"{args.index} is not empty: pass --reuse, or another --index")
        print(f"building {args.detections} detections in {args.index} ...", file=sys.stderr)
        report["build_rows"] = build(args.index, args.detections, 50, 90, 2, clip=False)
    steps, held = [], []
    if not args.remove_only:
        for name in (columns.FILE_NAME, OLD_NAME):
            (args.index / name).unlink(missing_ok=True)
        held = hold(args.index, args.fresh, "indexing")
        steps = [step("build", args.index), step("build-before", args.index)]
        hold(args.index, args.fresh, "done")
        steps += [step("append", args.index), step("append-before", args.index)]
    gone = remove(args.index, args.remove, "removed")  # as `forensic prune` would: the oldest videos go
    steps += [step("remove", args.index), step("remove-before", args.index)]
    remove(args.index, args.remove, "done", gone)
    report.update(held_videos=len(held), removed_videos=len(gone), steps=steps, load_end=load_average(),
                  file_mb=round((args.index / columns.FILE_NAME).stat().st_size / 2**20, 1),
                  file_on_disk_mb=round((args.index / columns.FILE_NAME).stat().st_blocks * 512 / 2**20, 1))
    print(f"\nsearch columns sync: {steps[0]['rows']} rows; {report['date']}, code {report['code']}, "
          f"{report['nproc']} CPUs, load {report['load_start']} -> {report['load_end']}")
    print(f"{'step':<14} {'rows written':>12} {'seconds':>8} {'written MB':>11} {'heap peak MB':>13} {'VmHWM MB':>9}")
    for s in steps:
        print(f"{s['step']:<14} {s['rows_written']:>12} {s['seconds']:>8} {s['written_mb']:>11} {s['heap_peak_mb']:>13} {s['VmHWM_mb']:>9}")
    print(f"columns file: {report['file_mb']} MB long, {report['file_on_disk_mb']} MB on disk (the room to append is a hole)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
