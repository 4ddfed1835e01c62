#!/usr/bin/env python3
"""How many machines, how much disk and how fast a search, for a commune's cameras (docs/capacity.md).

Arithmetic only, over figures measured by the other benches (nothing is assumed that a flag does not
name): the indexing speed of each setting from a `bench/index_speed.py --json` file (x real time =
seconds of video per second of wall time, medians), the detections per camera-hour of each kind of
footage from the same runs, and the disk per detection and search latencies from `bench/search_speed.py`
(given as flags, since they come from a synthetic index of a stated size).

    .venv/bin/python bench/capacity.py --index-speed /tmp/index_speed.json \\
        --bytes-per-detection 1400 --thumb-bytes 6300 --search-size 1e7 --text-p50 120 --photo-p50 300

A machine that indexes continuously keeps up with `x real time` cameras recording continuously: 24 hours
of one camera take 24 / x hours. A day is `--day-hours` of day footage (the busy 1080p crossroad, or the
720p one) and the rest night footage (the motion gate's case: infrared, little moves). The detections of a
camera-hour are the measured ones of those inputs: the dev crossroads are busy city junctions, so these
are upper bounds for a commune's roads; `--density-scale` scales them (e.g. 0.25) for quieter cameras.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

CAMERAS = (11, 16, 50)
SETTINGS = {  # name -> (day input and run, night input and run)
    "2 fps (default), 1080p day": (("1080p", "index"), ("night", "index")),
    "2 fps (default), 720p day": (("720p", "index"), ("night", "index")),
    "2 fps, plates off, 1080p day": (("1080p", "index --no-plates"), ("night", "index --no-plates")),
    "keyframes only (GOP 1.5 s), 1080p day": (("1080p-gop1.5s", "index"), ("night", "index")),
}


def median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]


def speed(data: dict, name: str, kind: str) -> tuple[float, float] | None:
    """(x real time, detections per camera-hour) of a measured run, or None when it was not run."""
    runs = data["runs"].get(name, {}).get(kind)
    if not runs:
        return None
    r = median_run(runs)
    return r["video_seconds"] / r["wall"], r.get("detections", 0) * 3600.0 / r["video_seconds"]


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1000.0
    return f"{n:.1f} PB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index-speed", type=Path, required=True, help="JSON written by bench/index_speed.py --json")
    ap.add_argument("--day-hours", type=float, default=12.0, help="hours of each camera's day that are day footage")
    ap.add_argument("--density-scale", type=float, default=1.0, help="detections per camera-hour x this (quieter roads)")
    ap.add_argument("--day-density", type=float, help="detections per camera-hour of day footage instead of the measured "
                    "busy junction's (e.g. what `forensic stats` gives for a real index: detections / video hours)")
    ap.add_argument("--bytes-per-detection", type=float, required=True, help="index disk per detection, thumbnails aside")
    ap.add_argument("--thumb-bytes", type=float, required=True, help="thumbnail JPEG bytes per detection")
    ap.add_argument("--search-size", type=float, required=True, help="detections of the index the latencies were measured on")
    ap.add_argument("--text-p50", type=float, required=True, help="text query p50 (ms) at --search-size")
    ap.add_argument("--photo-p50", type=float, required=True, help="photo query p50 (ms) at --search-size")
    ap.add_argument("--small", nargs=3, type=float, metavar=("SIZE", "TEXT", "PHOTO"),
                    help="a second measured point (detections, text p50, photo p50): latencies beyond --search-size grow "
                    "with the power of the index size these two points give, instead of linearly")
    ap.add_argument("--window-hours", type=float, default=24.0, help="hours a day the index machines may work")
    args = ap.parse_args(argv)
    data = json.loads(args.index_speed.read_text())
    night_h = 24.0 - args.day_hours
    print(f"# capacity from {args.index_speed} (code {data.get('code', '?')}, {data['machine']['nproc']} CPUs "
          f"{data['machine']['cpu']}); day {args.day_hours:g} h + night {night_h:g} h a camera-day; machines work "
          f"{args.window_hours:g} h a day; detections per camera-hour x {args.density_scale:g}"
          f"{'' if args.day_density is None else f'; day footage {args.day_density:,.0f} detections per camera-hour'}\n")
    print("| setting | x real time day / night | machine-hours per camera-day | machines for 11 / 16 / 50 cameras | "
          "detections per camera-day |")
    print("|---|---|---|---|---|")
    per_day_detections = {}
    for label, ((day_in, day_kind), (night_in, night_kind)) in SETTINGS.items():
        day, night = speed(data, day_in, day_kind), speed(data, night_in, night_kind)
        if day is None or night is None:
            print(f"| {label} | not measured in this file | | | |")
            continue
        hours = args.day_hours / day[0] + night_h / night[0]
        machines = " / ".join(str(math.ceil(n * hours / args.window_hours)) for n in CAMERAS)
        day_density = args.day_density if args.day_density is not None else day[1]
        dets = (args.day_hours * day_density + night_h * night[1]) * args.density_scale
        per_day_detections[label] = dets
        print(f"| {label} | {day[0]:.1f}x / {night[0]:.1f}x | {hours:.2f} | {machines} | {dets:,.0f} |")
    default = next(iter(per_day_detections.values()), None)
    if default is None:
        return 1
    per_det = args.bytes_per_detection + args.thumb_bytes
    print(f"\nDisk at the default setting ({default:,.0f} detections a camera-day; "
          f"{human_bytes(args.bytes_per_detection)} index + {human_bytes(args.thumb_bytes)} thumbnail per detection):\n")
    text_power = photo_power = 1.0  # linear in the detections searched: an upper bound (see docs/capacity.md)
    if args.small:
        size, text, photo = args.small
        text_power = math.log(args.text_p50 / text) / math.log(args.search_size / size)
        photo_power = math.log(args.photo_p50 / photo) / math.log(args.search_size / size)
        print(f"(latency beyond {args.search_size:.0e} detections extrapolated as size^{text_power:.2f} for text and "
              f"size^{photo_power:.2f} for photo, the growth measured from {size:.0e} to {args.search_size:.0e})\n")
    print("| cameras | detections a day | index a day | thumbnails a day | 30 days, all | detections in 30 days | "
          "text / photo p50 at 30 days (ms) |")
    print("|---|---|---|---|---|---|---|")
    for n in CAMERAS:
        day_dets = n * default
        month = 30 * day_dets
        scale = max(month / args.search_size, 1.0)
        print(f"| {n} | {day_dets:,.0f} | {human_bytes(day_dets * args.bytes_per_detection)} | "
              f"{human_bytes(day_dets * args.thumb_bytes)} | {human_bytes(month * per_det)} | {month:.2g} | "
              f"{args.text_p50 * scale ** text_power:.0f} / {args.photo_p50 * scale ** photo_power:.0f}"
              f"{'' if scale <= 1 else ' (extrapolated)'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
