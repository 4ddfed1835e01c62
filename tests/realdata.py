"""Where the real footage and weights are (../shared, never copied into the repository), where the
described objects are in it, and small helpers shared by the tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# FORENSIC_TEST_SHARED moves it (pointing it at a missing folder checks that the fast layer,
# pytest -m "not slow", needs none of it: every test that does skips or is marked slow).
SHARED = Path(os.environ.get("FORENSIC_TEST_SHARED") or REPO.parent / "shared")

# The two clips of the session index (crossroads_index), each in a folder named after its camera.
ACVIEW = "vn_crossroad_acview_day.mp4"
TRUCCAT = "vn_truccat_crossroad_day.mp4"
REAL_IMGSZ = 416  # small enough for CPU, large enough to find the riders and the SUV (checked by eye)
REAL_FPS = 2.0


def tiny_jpeg(seed: int = 0) -> bytes:
    import cv2

    rng = np.random.default_rng(seed)
    ok, buf = cv2.imencode(".jpg", rng.integers(0, 255, (12, 10, 3), dtype=np.uint8))
    assert ok
    return buf.tobytes()


# --- where the described objects are (README of ../shared/footage). Boxes were found with the
# detector and checked by eye on frames and thumbnails; between the listed times they are
# interpolated. A detection is the object when its box centre is near the object's box centre
# (within 35 % of the object's width and height): a rider's person box and motorbike box both count,
# a neighbour riding alongside does not. ---
@dataclass(frozen=True)
class Landmark:
    clip: str
    boxes: dict  # video time (s) -> (x1, y1, x2, y2) in source pixels
    classes: tuple
    slack: float = 0.35

    def box_at(self, t: float):
        times = sorted(self.boxes)
        if not times[0] - 0.26 <= t <= times[-1] + 0.26:
            return None
        t = min(max(t, times[0]), times[-1])
        return [float(np.interp(t, times, [self.boxes[k][i] for k in times])) for i in range(4)]

    def matches(self, video: str, t: float, bbox, cls: str) -> bool:
        if Path(video).name != self.clip or cls not in self.classes:
            return False
        box = self.box_at(t)
        if box is None:
            return False
        dx = abs((bbox[0] + bbox[2]) / 2 - (box[0] + box[2]) / 2)
        dy = abs((bbox[1] + bbox[3]) / 2 - (box[1] + box[3]) / 2)
        return dx <= self.slack * (box[2] - box[0]) and dy <= self.slack * (box[3] - box[1])

    def hit(self, h) -> bool:
        """For a search Hit."""
        return self.matches(h.video, h.t, h.bbox, h.cls)


# 1: delivery rider in a white shirt with a red cargo box (rider and motorbike together), bottom centre
# at 1 s, then riding away up and to the right.
DELIVERY_RIDER = Landmark(ACVIEW, {
    1.0: (1140, 800, 1335, 1080), 1.5: (1311, 686, 1466, 958), 2.0: (1430, 586, 1567, 901),
    2.5: (1524, 541, 1641, 798), 3.0: (1580, 470, 1700, 710), 3.5: (1625, 451, 1718, 645),
    4.0: (1648, 401, 1736, 588), 4.5: (1680, 371, 1745, 526), 5.0: (1688, 344, 1759, 490)}, ("person", "motorcycle"))
# 6: rider in a red jacket and light-blue helmet, waiting centre-right for the whole clip.
RED_JACKET_RIDER = Landmark(TRUCCAT, {0.0: (753, 400, 808, 526), 6.4: (753, 400, 808, 526)}, ("person", "motorcycle"))
# 4: white SUV (Hyundai Tucson) driving away up the left lanes, 4.5-10 s; sun ahead of the camera, so
# its white rear is in its own shadow (darker than the sunlit road).
WHITE_TUCSON = Landmark(ACVIEW, {
    4.5: (0, 685, 244, 1072), 6.0: (77, 545, 482, 839), 8.0: (467, 418, 733, 622), 10.0: (726, 335, 918, 482)}, ("car", "truck"))
# 7: white SUV crossing the upper half left to right.
WHITE_SUV = Landmark(TRUCCAT, {
    0.5: (0, 198, 151, 273), 1.0: (22, 196, 219, 276), 2.5: (234, 190, 416, 269), 4.5: (536, 186, 708, 258),
    6.0: (791, 185, 951, 254)}, ("car", "truck"))

# 8: green Mai Linh taxi (Toyota Vios), plate 30F-621.51 on two lines (yellow), driving away from the
# bottom left up to the centre for the whole clip; its plate is readable from about 3 to 7 s.
GREEN_TAXI = Landmark(ACVIEW, {
    0.0: (152, 939, 692, 1078), 2.0: (183, 902, 726, 1080), 3.5: (294, 801, 822, 1077), 4.0: (389, 758, 869, 1075),
    5.0: (543, 670, 959, 997), 6.0: (682, 599, 1040, 895), 7.0: (814, 535, 1116, 795), 8.0: (929, 470, 1183, 691),
    9.0: (1022, 422, 1230, 601), 10.0: (1082, 376, 1266, 545)}, ("car", "truck"))
GREEN_TAXI_PLATE = "30F62151"
# OpenCV's campus clip (vtest.avi): three walkers, each at two moments seconds apart in other places of
# the scene (other size, pose and light); boxes from bench/relevance.py's ground truth (checked by eye),
# only meant for the listed moments.
CAMPUS = "uk_campus_pedestrians_vtest.avi"
RED_NAVY_MAN = Landmark(CAMPUS, {54.0: (237, 383, 283, 526), 58.0: (230, 337, 279, 470)}, ("person",))
RED_TOP_WOMAN = Landmark(CAMPUS, {45.0: (558, 243, 594, 336), 70.0: (475, 137, 495, 202)}, ("person",))
BLACK_COAT_WOMAN = Landmark(CAMPUS, {55.0: (233, 375, 289, 511), 61.0: (346, 427, 400, 576)}, ("person",))


@dataclass
class RealIndex:
    root: Path
    settings: object
    models: object
    videos: dict  # clip name -> path indexed (a symlink in a camera folder)
    events: list
    summary: object


def build_real_index(folder: Path, footage: Path, settings, models) -> RealIndex:
    from forensic.index.pipeline import IndexSummary, index_videos
    from forensic.index.store import IndexStore

    videos = {}
    for camera, name in (("acview", ACVIEW), ("truccat", TRUCCAT)):
        (folder / camera).mkdir(parents=True)
        videos[name] = folder / camera / name
        videos[name].symlink_to((footage / name).resolve())
    summary = IndexSummary()
    with IndexStore(settings.index, writer=True) as store:
        events = list(index_videos([folder], store, models, settings, summary))
    return RealIndex(settings.index, settings, models, videos, events, summary)


def run_cli(*args: str, env: dict | None = None):
    """Invoke the CLI in-process; an exception other than the CLI's own exit is a test failure (never a traceback)."""
    from click.testing import CliRunner

    from forensic.cli import cli

    result = CliRunner().invoke(cli, list(args), env=env or {})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unexpected {result.exception!r}\n{result.output}") from result.exception
    assert "Traceback" not in result.output
    return result


def error_lines(result) -> list[str]:
    """The CLI's one-line errors on stderr."""
    return [line for line in result.stderr.splitlines() if line.startswith("forensic: error:")]


def riding_of(store, ids) -> dict[int, str]:
    """Vehicle class ridden by each of these detection ids ('' when none), judged per track: the riding
    rules applied straight to SQLite, to check what the search columns computed."""
    from forensic.search.riding import over_tracks, riding

    ids = np.asarray(list(ids), np.int64)
    if len(ids) == 0:
        return {}
    videos = set()
    for chunk in range(0, len(ids), 900):
        part = ids[chunk:chunk + 900].tolist()
        videos.update(r[0] for r in store.db.execute(
            f"SELECT DISTINCT video_id FROM detections WHERE id IN ({','.join('?' * len(part))})", part))
    rows = []
    videos = sorted(videos)
    for chunk in range(0, len(videos), 900):
        part = videos[chunk:chunk + 900]
        rows += store.db.execute(
            "SELECT id, video_id, t, cls, x1, y1, x2, y2, track FROM detections "
            f"WHERE cls IN ('person', 'motorcycle', 'bicycle') AND video_id IN ({','.join('?' * len(part))})", part).fetchall()
    if not rows:
        return {int(i): "" for i in ids}
    det = np.array([r[0] for r in rows], np.int64)
    rides = riding(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), np.array([r[3] for r in rows]),
                   np.array([r[4:8] for r in rows], np.float64))
    rides = over_tracks(np.array([r[8] if r[8] is not None else -1 for r in rows], np.int64), rides)
    rides[np.array([r[3] for r in rows]) != "person"] = ""
    found = dict(zip(det.tolist(), rides.tolist()))
    return {int(i): found.get(int(i), "") for i in ids}


def frame_at(path, t: float) -> np.ndarray:
    """The frame of a video at `t` seconds (by frame number)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, round(t * cap.get(cv2.CAP_PROP_FPS)))
    ok, image = cap.read()
    cap.release()
    assert ok
    return image


def one_red_car_index(tmp_path: Path) -> Path:
    """An index of one red car, one detection: enough for a text search without any model."""
    from forensic.detections import Detections
    from forensic.index.store import IndexStore
    from forensic.video import VideoInfo

    video = tmp_path / "cam1" / "a.mp4"
    video.parent.mkdir()
    video.write_bytes(b"0" * 64)
    root = tmp_path / "idx"
    with IndexStore(root, writer=True) as store:
        store.register_embedder("appearance", "appearance-test/v1", 4)
        vid = store.begin_video(video, "cam1", VideoInfo(video, fps=25.0, frames=25, width=640, height=480), 2.0, "fp")
        dets = Detections(np.array([[10, 10, 90, 60]], np.float32), np.array([0.9], np.float32), np.array(["car"]))
        store.add_detections(vid, 0, 0.0, dets, [{"whole": {"red": 0.8}}], np.array([0.7], np.float32), [tiny_jpeg()],
                             {"appearance": np.array([[1, 0, 0, 0]], np.float32)})
        store.finish_video(vid)
    return root


def vfr_clip(footage: Path, out: Path) -> Path:
    """A variable-frame-rate recording made from the Truc Cat clip with ffmpeg (as a DVR that drops frames
    when the scene is still writes them): 0-3 s at 25 fps, then 3-6 s at 5 fps, 90 frames in 6 s. Its
    average rate is 15 frames per second, so frame 80 is shown at 4.0 s where 80 / 15 says 5.3 s."""
    import subprocess

    parts = []
    for n, (start, fps) in enumerate(((0, 25), (3, 5))):
        part = out.parent / f"{out.stem}-part{n}.ts"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", str(start), "-i", str(footage / TRUCCAT), "-t", "3",
                        "-vf", f"fps={fps},scale=640:-2", "-an", "-c:v", "libx264", "-preset", "ultrafast", "-g", str(fps),
                        str(part)], check=True)
        parts.append(part)
    listing = out.parent / f"{out.stem}-parts.txt"
    listing.write_text("".join(f"file '{p.name}'\n" for p in parts))
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(out)], check=True)
    for p in (*parts, listing):
        p.unlink()
    return out
