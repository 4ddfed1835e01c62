"""How fast `forensic index` runs on this machine, next to the machine's limits and a peer.

Builds long inputs from the dev clips (N minutes of 1080p and of 720p with `ffmpeg -stream_loop`,
stream-copied; a 1080p copy re-encoded with a keyframe every 1.5 s for the keyframe-only mode), in a
temporary folder, then for each input, each measurement in its own process (for its peak memory):

- index:  the full pipeline (decode thread, motion gate, detector, tracker, colours, thumbnails,
          vectors, SQLite/FAISS writes) into a fresh index, with the default settings;
- floor:  decoding only, same file, same sampling (the same reader, frames read and dropped);
- peer:   ultralytics' own streaming `predict` over the same file with the same frame stride
          (vid_stride = fps / sample fps), PyTorch weights; and the same with the OpenVINO export.

Each measurement is repeated (`--repeat`), interleaved with the others so that a machine slowing down
for a while (shared hosts do) hurts them alike, and the median is reported. Prints real-time factors
(seconds of video per second of wall time), time per stage, detections per second, peak memory,
and the ratios index/floor and index/peer. Its inputs are made from the dev clips only.

With `--ray-workers N [N ...]` (needs `pip install 'forensic[cluster]'`) it also measures indexing on Ray
(docs/cluster.md): a folder of four recordings (two of 1080p and two of 720p, each half as long as an input,
since Ray runs one task per recording) indexed by a local run, then by `--ray local` with each N workers; it
reports each one's speed-up over the local run. Ray's start is left out of the time, the workers' model
loading is not (each worker loads the models once, as in a nightly run).

    .venv/bin/python bench/index_speed.py                 # 5 minutes per input, 3 interleaved runs (~35 min on 2 cores)
    .venv/bin/python bench/index_speed.py --minutes 1 --repeat 1     # quick look
    .venv/bin/python bench/index_speed.py --only ray --ray-workers 1 2 --repeat 1   # the multi-worker speed-up only
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED, git_state, load_average, machine, peak_rss_mb  # noqa: E402

FOOTAGE = SHARED / "footage"
MODELS = SHARED / "models"
SOURCES = {"1080p": "vn_crossroad_acview_day.mp4", "720p": "vn_truccat_crossroad_day.mp4"}
NIGHT = "night_ir_yard_person.mp4"  # infrared night, a yard where one person walks through: what the motion gate is for
KEEP = [0, 1, 2, 3, 5, 7]  # COCO ids of the classes forensic indexes


# --- inputs ------------------------------------------------------------------------------------------
def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_inputs(folder: Path, minutes: float) -> dict[str, Path]:
    """Long inputs by looping the dev clips without re-encoding (and one re-encoded with 1.5 s GOPs)."""
    out = {}
    for name, clip in SOURCES.items():
        out[name] = folder / f"{name}_{minutes:g}min.mp4"
        ffmpeg("-stream_loop", "-1", "-i", str(FOOTAGE / clip), "-t", str(minutes * 60), "-c", "copy", "-an", str(out[name]))
    gop = folder / "gop45.mp4"  # 45 frames at 30 fps: a keyframe every 1.5 s, as many recorders write
    ffmpeg("-i", str(FOOTAGE / SOURCES["1080p"]), "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "45",
           "-keyint_min", "45", "-sc_threshold", "0", "-an", str(gop))
    out["1080p-gop1.5s"] = folder / f"1080p_gop1.5s_{minutes:g}min.mp4"
    ffmpeg("-stream_loop", "-1", "-i", str(gop), "-t", str(minutes * 60), "-c", "copy", str(out["1080p-gop1.5s"]))
    out["night"] = folder / f"night_{minutes:g}min.mp4"
    ffmpeg("-stream_loop", "-1", "-i", str(FOOTAGE / NIGHT), "-t", str(minutes * 60), "-c", "copy", "-an", str(out["night"]))
    return out


# --- measurements, each run in a child process ---------------------------------------------------------
def child_index(video: Path, options: dict) -> dict:
    from forensic.index.pipeline import IndexSummary, index_videos
    from forensic.index.store import IndexStore
    from forensic.models import build_models
    from forensic.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({}, index=Path(tmp) / "idx", models=MODELS, settle=0.0, clip="off", **options)
        models = build_models(settings)
        models.detector.model  # load before the clock starts, as a long nightly run would have
        if models.pose is not None:
            models.pose.model
        if models.plates is not None and settings.plates:
            models.plates.model, models.plates.ocr
        summary = IndexSummary()
        start = time.perf_counter()
        with IndexStore(settings.index, writer=True) as store:
            for _ in index_videos([video], store, models, settings, summary):
                pass
        wall = time.perf_counter() - start
        if summary.failed:
            raise SystemExit(f"indexing failed: {summary.failed}")
    return {"wall": wall, "video_seconds": summary.video_seconds, "detections": summary.detections,
            "stages": summary.stage_seconds, "frames": summary.frames_sampled, "skipped": summary.frames_skipped,
            "backend": models.detector.backend, "fps": settings.fps, "imgsz": settings.imgsz}


def child_floor(video: Path, options: dict) -> dict:
    from forensic.video import open_reader, probe

    info = probe(video)
    reader = open_reader(info, options.get("fps", 2.0), options.get("keyframes", False))
    start = time.perf_counter()
    frames = sum(1 for _ in reader)
    return {"wall": time.perf_counter() - start, "video_seconds": reader.last_t + 1 / info.fps, "frames": frames}


def child_peer(video: Path, options: dict) -> dict:
    import cv2

    from forensic.models.base import configure_offline

    configure_offline(False)
    from ultralytics import YOLO

    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    weights = MODELS / ("yolo11n_int8_openvino_model" if options.get("peer") == "openvino" else "yolo11n.pt")
    model = YOLO(str(weights), task="detect")
    stride = max(1, round(fps / options.get("fps", 2.0)))
    first = True
    n = dets = 0
    for result in model.predict(source=str(video), stream=True, vid_stride=stride, imgsz=options.get("imgsz", 640), conf=0.3,
                                classes=KEEP, device="cpu", verbose=False):
        if first:  # the first frame pays for loading the model: start the clock after it
            start, first = time.perf_counter(), False
            continue
        n += 1
        dets += len(result.boxes)
    wall = time.perf_counter() - start
    return {"wall": wall, "video_seconds": n * stride / fps, "frames": n, "detections": dets,
            "backend": options.get("peer", "torch"), "stride": stride}


def child_ray(folder: Path, options: dict) -> dict:
    """Index a folder on a local Ray instance of `workers` workers (its start not timed)."""
    from forensic.index.cluster import Cluster, LocalRay, index_on_ray
    from forensic.index.pipeline import IndexSummary
    from forensic.index.store import IndexStore
    from forensic.settings import Settings

    workers = options.pop("workers")
    with tempfile.TemporaryDirectory() as tmp, LocalRay(workers):
        settings = Settings.from_env({}, index=Path(tmp) / "idx", models=MODELS, settle=0.0, clip="off", **options)
        summary = IndexSummary()
        start = time.perf_counter()
        with IndexStore(settings.index, writer=True) as store:
            for _ in index_on_ray([folder], store, settings, Cluster("local", workers), summary):
                pass
        wall = time.perf_counter() - start
    if summary.failed:
        raise SystemExit(f"indexing on Ray failed: {summary.failed}")
    return {"wall": wall, "video_seconds": summary.video_seconds, "detections": summary.detections, "stages": summary.stage_seconds,
            "frames": summary.frames_sampled, "skipped": summary.frames_skipped, "workers": workers, "fps": settings.fps,
            "imgsz": settings.imgsz}


CHILDREN = {"index": child_index, "floor": child_floor, "peer": child_peer, "ray": child_ray}


def run_child(kind: str, video: Path, options: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(video), json.dumps(options)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} on {video.name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- report ------------------------------------------------------------------------------------------
def median_run(runs: list[dict]) -> dict:
    """The run with the median wall time, with the spread of all of them."""
    ordered = sorted(runs, key=lambda r: r["wall"])
    return ordered[len(ordered) // 2] | {"walls": [round(r["wall"], 1) for r in runs]}


def rtf(r: dict) -> float:
    return r["video_seconds"] / r["wall"] if r["wall"] else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0, help="length of each long input")
    parser.add_argument("--fps", type=float, default=2.0, help="sampled frames per second (the issue's target: 2)")
    parser.add_argument("--only", nargs="*", help="inputs to run (1080p, 720p, 1080p-gop1.5s, night)")
    parser.add_argument("--no-peer", action="store_true", help="skip the ultralytics baselines")
    parser.add_argument("--plates-off", action="store_true", help="also index with --no-plates: what reading plates costs")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions; medians are reported")
    parser.add_argument("--ray-workers", type=int, nargs="+", help="also index four recordings on a local Ray instance with each "
                        "of these numbers of workers, next to a local run (--only ray: that alone)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, video, options = args.child
        result = CHILDREN[kind](Path(video), json.loads(options))
        result["peak_mb"] = round(peak_rss_mb(), 1)
        print(json.dumps(result))
        return 0
    if not shutil.which("ffmpeg"):
        raise SystemExit("bench/index_speed.py needs ffmpeg (apt install ffmpeg) to build its long inputs")

    m = machine()
    print(f"command:  {' '.join(['bench/index_speed.py', *(argv if argv is not None else sys.argv[1:])])}")
    print(f"date:     {datetime.now().astimezone().isoformat(timespec='seconds')}   code: {git_state()}")
    print(f"machine:  {m['nproc']} CPUs ({m['cpu']}), GPU: {m['gpu'] or 'none'}, python {m['python']}, torch {m.get('torch', '?')}")
    print(f"load:     {load_average()} (1, 5, 15 min) at start")
    results: dict = {"machine": m, "code": git_state(), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="forensic-speed-") as tmp:
        t0 = time.perf_counter()
        inputs = make_inputs(Path(tmp), args.minutes)
        print(f"inputs:   {', '.join(p.name for p in inputs.values())} built in {time.perf_counter() - t0:.0f} s\n")
        for name, video in inputs.items():
            if args.only and name not in args.only:
                continue
            keyframes = name.endswith("gop1.5s")
            opts = {"fps": args.fps, "keyframes": keyframes} if keyframes else {"fps": args.fps}
            plan = {"floor": ("floor", opts), "index": ("index", opts)}
            if keyframes:
                plan["index (every frame)"] = ("index", {"fps": args.fps})
                plan["floor (every frame)"] = ("floor", {"fps": args.fps})
            if args.plates_off:
                plan["index --no-plates"] = ("index", opts | {"plates": False})
            if not keyframes and not args.no_peer:
                plan["peer torch"] = ("peer", {"fps": args.fps, "peer": "torch"})
                plan["peer openvino"] = ("peer", {"fps": args.fps, "peer": "openvino"})
            tries: dict[str, list] = {kind: [] for kind in plan}
            for _ in range(args.repeat):  # interleaved, so a machine that slows down for a while hurts all alike
                for kind, (child, options) in plan.items():
                    tries[kind].append(run_child(child, video, options))
            runs = {kind: median_run(rs) for kind, rs in tries.items()}
            results["runs"][name] = {kind: rs for kind, rs in tries.items()}
            report(name, runs, args.repeat)
        if args.ray_workers and (not args.only or "ray" in args.only):
            results["runs"]["ray"] = several_recordings(Path(tmp), inputs, args)
        print(f"load:     {load_average()} (1, 5, 15 min) at the end")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def several_recordings(tmp: Path, inputs: dict[str, Path], args) -> dict:
    """Four recordings (two of 1080p, two of 720p, half an input long each) indexed locally and on Ray."""
    folder = tmp / "recordings"
    folder.mkdir()
    for name in ("1080p", "720p"):
        for part in (0, 1):  # looped from the dev clip as the long inputs are (a cut of one would end mid-GOP)
            ffmpeg("-stream_loop", "-1", "-i", str(FOOTAGE / SOURCES[name]), "-t", str(args.minutes * 30), "-c", "copy", "-an",
                   str(folder / f"{name}_part{part}.mp4"))
    plan = {"local": ("index", {"fps": args.fps})}
    plan.update({f"ray {n} workers": ("ray", {"fps": args.fps, "workers": n}) for n in args.ray_workers})
    tries: dict[str, list] = {kind: [] for kind in plan}
    for _ in range(args.repeat):
        for kind, (child, options) in plan.items():
            tries[kind].append(run_child(child, folder, dict(options)))
    runs = {kind: median_run(rs) for kind, rs in tries.items()}
    local = runs["local"]
    print(f"== several recordings on Ray: 4 recordings, {local['video_seconds']:.0f} s of video (1080p and 720p), "
          f"sampled at {args.fps:g} fps")
    print(f"   {'run':22} {'wall s':>8} {'x real time':>12} {'peak MB':>8}  speed-up over the local run")
    for kind, r in runs.items():
        spread = f" (runs: {', '.join(map(str, r['walls']))} s)" if args.repeat > 1 else ""
        print(f"   {kind:22} {r['wall']:>8.1f} {rtf(r):>11.1f}x {r['peak_mb']:>8.0f}  {local['wall'] / r['wall']:.2f}x; "
              f"{r['detections']} detections{spread}")
    print("   (the index writer's peak memory; Ray's start is not timed, each worker's model loading is)\n")
    return tries


def report(name: str, runs: dict, repeat: int = 1) -> None:
    idx = runs["index"]
    print(f"== {name}: {idx['video_seconds']:.0f} s of video, sampled at {idx['fps']:g} fps"
          f"{' (keyframes only)' if name.endswith('gop1.5s') else ''}; detector {idx['backend']} at {idx['imgsz']} px")
    print(f"   {'run':22} {'wall s':>8} {'x real time':>12} {'peak MB':>8}  notes")
    for kind, r in runs.items():
        note = ""
        if kind.startswith("index"):
            note = (f"{r['detections']} detections ({r['detections'] / r['wall']:.0f}/s); {r['frames'] - r['skipped']} of {r['frames']} "
                    f"frames detected")
        elif kind.startswith("peer"):
            note = f"{r['frames']} frames, vid_stride {r['stride']}, {r['detections']} detections"
        elif kind.startswith("floor"):
            note = f"{r['frames']} frames read"
        spread = f" (runs: {', '.join(map(str, r['walls']))} s)" if repeat > 1 else ""
        print(f"   {kind:22} {r['wall']:>8.1f} {rtf(r):>11.1f}x {r['peak_mb']:>8.0f}  {note}{spread}")
    stages = idx["stages"]
    print("   index stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
          + "   (decode runs in its own thread, overlapping the rest)")
    ratios = [f"index/floor time {idx['wall'] / runs['floor']['wall']:.2f}x"]
    for kind in ("peer torch", "peer openvino"):
        if kind in runs:
            ratios.append(f"{kind}/index time {runs[kind]['wall'] / idx['wall']:.2f}x")
    if "index (every frame)" in runs:
        ratios.append(f"keyframes speed-up {runs['index (every frame)']['wall'] / idx['wall']:.2f}x")
    if "index --no-plates" in runs:
        ratios.append(f"plates cost {idx['wall'] / runs['index --no-plates']['wall'] - 1:+.0%} of the time without them")
    print("   " + "; ".join(ratios) + "\n")


if __name__ == "__main__":
    sys.exit(main())
