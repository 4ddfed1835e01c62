"""How well appearances (tracks) follow the described objects of ../shared/footage: fragmentation
and purity, at a sampling rate and an association-box enlargement for people and two-wheelers.

Indexes the four clips with described moving objects (two Vietnamese crossroads, the boulevard, the
campus) and, for each object with correct detections (ground truth of bench/relevance.py):
- fragments: appearances needed to cover 80 % of its correct detections, per class (a rider is a
  person and a motorbike: 2 at best);
- purity: of the detections of those appearances inside the object's time windows, the share that
  are the object (low when an appearance passes from one object to another);
- foreign: appearances holding the object at least twice but mostly something else.

    .venv/bin/python bench/tracks.py --fps 2 --enlarge 1.5
    .venv/bin/python bench/tracks.py --fps 4 --enlarge 1
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED, git_state, load_average  # noqa: E402

CLIPS = ("vn_crossroad_acview_day.mp4", "vn_boulevard_motorbikes_day.mp4", "vn_truccat_crossroad_day.mp4",
         "uk_campus_pedestrians_vtest.avi")


def measure(index: Path) -> dict:
    import relevance

    from forensic.index.store import IndexStore

    fragments, held, foreign = [], [0, 0], 0
    with IndexStore(index) as store:
        videos = {Path(r["path"]).name: r for r in store.videos()}
        for target in relevance.GROUND_TRUTH:
            v = videos.get(target.clip)
            if v is None:
                continue
            rows = store.db.execute("SELECT t, x1, y1, x2, y2, cls, track FROM detections WHERE video_id=?", (v["id"],)).fetchall()

            def correct(r) -> bool:
                cx, cy = (r["x1"] + r["x2"]) / 2 / v["width"], (r["y1"] + r["y2"]) / 2 / v["height"]
                return target.judge(target.clip, r["t"], r["cls"], cx, cy) == "correct"

            counts: dict[tuple, int] = {}
            for r in rows:
                if correct(r):
                    counts[(r["cls"], r["track"])] = counts.get((r["cls"], r["track"]), 0) + 1
            if not counts:
                continue
            need = 0
            for cls in {c for c, _ in counts}:
                sizes = sorted((n for (c, _), n in counts.items() if c == cls), reverse=True)
                covered = 0
                for n in sizes:
                    covered, need = covered + n, need + 1
                    if covered >= 0.8 * sum(sizes):
                        break
            fragments.append((target.n, need))
            for (_, track), n in counts.items():
                members = sum(1 for r in rows if r["track"] == track and target.region(r["t"]) is not None)
                held[0] += n
                held[1] += members
                foreign += n >= 2 and members - n > n
    return {"fragments": fragments, "purity": held[0] / max(1, held[1]), "foreign": foreign}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fps", type=float, default=2.0)
    p.add_argument("--enlarge", type=float, help="association box scale for people and two-wheelers at 2 fps [the code's]")
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--models", type=Path, default=SHARED / "models")
    args = p.parse_args(argv)

    from forensic.index import tracking
    from forensic.index.pipeline import IndexSummary, index_videos
    from forensic.index.store import IndexStore
    from forensic.models import build_models
    from forensic.settings import Settings

    if args.enlarge is not None:
        tracking.ENLARGE.update(dict.fromkeys(tracking.ENLARGE, args.enlarge))
    folder = Path(tempfile.mkdtemp(prefix="forensic-tracks-"))
    try:
        settings = Settings.from_env({}, index=folder / "idx", models=args.models, fps=args.fps, imgsz=args.imgsz, settle=0.0,
                                     clip="off")
        summary = IndexSummary()
        with IndexStore(settings.index, writer=True) as store:
            for _ in index_videos([SHARED / "footage" / c for c in CLIPS], store, build_models(settings), settings, summary):
                pass
        result = measure(settings.index)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"code {git_state()}, load {load_average()}; fps {args.fps:g}, enlarge {tracking.ENLARGE['person']:g} "
          f"(at 2 fps; used: {tracking.association_scale_for(args.fps):g}), imgsz {args.imgsz}")
    print(f"fragments per object (#: appearances covering 80 %): {' '.join(f'#{n}:{k}' for n, k in result['fragments'])}; "
          f"total {sum(k for _, k in result['fragments'])}")
    print(f"purity {result['purity']:.2f}; mostly-foreign appearances {result['foreign']}; "
          f"index {summary.wall_seconds:.0f} s for {summary.video_seconds:.0f} s of video")
    return 0


if __name__ == "__main__":
    sys.exit(main())
