"""Weight-free test material: synthetic videos of painted objects, a stand-in detector at the detector's
inference seam (forensic.models.detector.ObjectDetector) that finds them, and small indexes written
straight through the IndexStore API. With them the index, search, filter, evidence and CLI tests of the
fast layer (pytest -m "not slow") run in seconds without ../shared; the slow layer keeps the real
detector on real footage for the main paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forensic.detections import Detections
from realdata import tiny_jpeg

BACKGROUND = 114  # grey, as letterboxing pads: near no painted colour
RED, GREEN, BLUE, WHITE, BLACK, YELLOW = (0, 0, 200), (0, 170, 0), (200, 60, 0), (235, 235, 235), (25, 25, 25), (0, 210, 230)


# --- synthetic videos and the stub detector -------------------------------------------------------
@dataclass(frozen=True)
class Painted:
    """One object painted as a solid rectangle of `bgr` (a person's `lower` colour fills the lower half of
    its box: trousers); with `cls` "" it is scenery, painted but never detected. `boxes`: video time (s) -> (x1, y1, x2, y2), linearly interpolated between the
    listed times; the object is in the picture only from the first to the last."""

    cls: str
    bgr: tuple
    boxes: dict
    lower: tuple | None = None
    conf: float = 0.9

    def box_at(self, t: float):
        times = sorted(self.boxes)
        if not times[0] - 1e-6 <= t <= times[-1] + 1e-6:
            return None
        return [int(round(float(np.interp(t, times, [self.boxes[k][i] for k in times])))) for i in range(4)]


def paint(objects: list[Painted], t: float, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """The frame at `t`: grey, with every object in the picture at that time."""
    w, h = size
    image = np.full((h, w, 3), BACKGROUND, np.uint8)
    for ob in objects:
        box = ob.box_at(t)
        if box is None:
            continue
        x1, y1, x2, y2 = box
        image[y1:y2, x1:x2] = ob.bgr
        if ob.lower is not None:
            image[(y1 + y2) // 2:y2, x1:x2] = ob.lower
    return image


def write_video(path: Path, objects: list[Painted], seconds: float = 3.0, fps: float = 10.0,
                size: tuple[int, int] = (320, 240)) -> Path:
    """An MPEG-4 file of the painted objects (OpenCV's own encoder: no ffmpeg needed)."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert out.isOpened(), f"OpenCV cannot write {path}"
    for n in range(int(round(seconds * fps))):
        out.write(paint(objects, n / fps, size))
    out.release()
    return path


class StubDetector:
    """Stands in for the YOLO detector at its inference seam (ObjectDetector): in each frame it finds the
    scripted objects by their painted colours (pixels within `tolerance` of the colour, lossy encoding
    allowed for; their bounding box, when at least `min_pixels`) and reports them with their scripted
    class and confidence. Pooled features are the mean colours of the box's four quadrants, unit length.
    Painted colours must differ between objects of one video."""

    name = "stub-detector"
    imgsz = 320
    conf = 0.3
    feature_dim = 12

    def __init__(self, objects: list[Painted], tolerance: int = 40, min_pixels: int = 30):
        self.objects = objects
        self.tolerance = tolerance
        self.min_pixels = min_pixels
        self.calls = 0  # images seen by detect

    def _near(self, image: np.ndarray, bgr) -> np.ndarray:
        return (np.abs(image.astype(np.int16) - np.asarray(bgr, np.int16)) <= self.tolerance).all(axis=2)

    def detect(self, images: list[np.ndarray], conf: float | None = None) -> list[Detections]:
        out = []
        for image in images:
            self.calls += 1
            boxes, scores, names = [], [], []
            for ob in self.objects:
                if not ob.cls or ob.conf <= (self.conf if conf is None else conf):
                    continue
                mask = self._near(image, ob.bgr)
                if ob.lower is not None:
                    mask |= self._near(image, ob.lower)
                ys, xs = np.nonzero(mask)
                if len(xs) < self.min_pixels:
                    continue
                boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
                scores.append(ob.conf)
                names.append(ob.cls)
            if not boxes:
                out.append(Detections.empty())
                continue
            xyxy = np.array(boxes, np.float32)
            out.append(Detections(xyxy, np.array(scores, np.float32), np.array(names, dtype="<U16"), self.pool_boxes(image, xyxy)))
        return out

    def pool_boxes(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        feats = np.zeros((len(boxes), self.feature_dim), np.float32)
        h, w = image.shape[:2]
        for k, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, np.float32)):
            x1, x2 = int(np.clip(x1, 0, w - 1)), int(np.clip(np.ceil(x2), 1, w))
            y1, y2 = int(np.clip(y1, 0, h - 1)), int(np.clip(np.ceil(y2), 1, h))
            crop = image[y1:max(y1 + 2, y2), x1:max(x1 + 2, x2)].astype(np.float32)
            ch, cw = max(1, crop.shape[0] // 2), max(1, crop.shape[1] // 2)
            quads = [crop[:ch, :cw], crop[:ch, cw:], crop[ch:, :cw], crop[ch:, cw:]]
            feats[k] = np.concatenate([q.reshape(-1, 3).mean(axis=0) if q.size else np.zeros(3) for q in quads]) + 1.0
        return feats / np.linalg.norm(feats, axis=1, keepdims=True)


def stub_models(detector: StubDetector):
    """The models of an indexing run or photo search with the stub detector (no CLIP, plates or pose)."""
    from forensic.models import Models
    from forensic.models.appearance import AppearanceEmbedder

    return Models(detector, AppearanceEmbedder(detector))


def stub_settings(index: Path, **overrides):
    """Settings for an indexing run of synthetic videos (every sampled frame detected, nothing held back)."""
    from forensic.settings import Settings

    values = dict(index=index, settle=0.0, clip="off", plates=False, pose=False, fps=5.0, batch=4, min_motion=0.0)
    values.update(overrides)
    return Settings.from_env({}, **values)


# A shop sign in each view: a scene with no colour at all would be taken for an infrared picture (no
# colours named).
SIGN = Painted("", (200, 0, 200), {0.0: (270, 5, 315, 35), 60.0: (270, 5, 315, 35)})
# The scene of the synthetic index: a red car crossing and a person in a blue top and black trousers
# standing, filmed by 'cam1'; a white van parked and a green motorbike passing, filmed by 'cam2'.
SCENE = {
    "cam1": [SIGN, Painted("car", RED, {0.0: (10, 150, 90, 200), 2.8: (220, 150, 300, 200)}),
             Painted("person", BLUE, {0.0: (150, 40, 180, 130), 2.8: (150, 40, 180, 130)}, lower=BLACK)],
    "cam2": [SIGN, Painted("truck", WHITE, {0.0: (20, 60, 140, 140), 2.8: (20, 60, 140, 140)}),
             Painted("motorcycle", GREEN, {0.4: (300, 170, 330, 210), 2.4: (170, 170, 200, 210)})],
}


@dataclass
class StubIndex:
    root: Path
    videos: dict  # camera -> video path
    objects: dict  # camera -> its Painted objects
    settings: object
    models: object
    summary: object
    events: list = field(default_factory=list)


def build_stub_index(folder: Path, scene: dict | None = None, seconds: float = 3.0, **settings) -> StubIndex:
    """Write one synthetic video per camera (in a folder named after it) and index them with the real
    pipeline and the stub detector."""
    from forensic.index.pipeline import IndexSummary, index_videos
    from forensic.index.store import IndexStore

    scene = SCENE if scene is None else scene
    videos = {camera: write_video(folder / "footage" / camera / f"{camera}_0001.mp4", objects, seconds)
              for camera, objects in scene.items()}
    detector = StubDetector([ob for objects in scene.values() for ob in objects])
    models = stub_models(detector)
    config = stub_settings(folder / "idx", **settings)
    summary = IndexSummary()
    with IndexStore(config.index, writer=True) as store:
        events = list(index_videos([folder / "footage"], store, models, config, summary))
    assert not summary.failed, summary.failed
    return StubIndex(config.index, videos, scene, config, models, summary, events)


# --- indexes written straight through the store -------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One stored detection. `colour`: a colour name (its share of the whole box 0.8) or the colours
    dict as stored ({"whole": {...}, "upper": {...}, "lower": {...}}). Rows of one video with the same
    `track` form one track; `track` None: a track of its own."""

    cls: str = "car"
    colour: str | dict = "red"
    t: float = 0.0
    camera: str = "cam1"
    video: str = "a.mp4"
    box: tuple = (10, 10, 90, 60)
    conf: float = 0.9
    quality: float = 0.7
    track: int | None = None
    vector: tuple | None = None  # appearance vector (made unit length); None: one from the row's position
    cls2: str | None = None
    conf2: float | None = None
    plate: str | None = None  # the plate read on this view, as read ("30F-621.51"): its track's plate
    plate_conf: float = 0.9


@dataclass
class RowIndex:
    root: Path
    ids: list  # detection id of each row, in order
    videos: dict  # (camera, video name) -> path


def build_index(folder: Path, rows: list[Row], start: str | None = "2026-11-21T10:00:00+07:00", dim: int = 4,
                fps: float = 25.0, size: tuple[int, int] = (640, 480), video_bytes: bytes | None = None,
                recorded: tuple | None = None, clock: dict | None = None) -> RowIndex:
    """An index of these detections and nothing else, written with IndexStore's writer API (no video is
    decoded, no model runs). Each video is a placeholder file in a folder named after its camera (or
    `video_bytes`), starting at `start` (ISO wall-clock time; None: unknown); `recorded`: (recorded start,
    timezone, clock offset) the start was made from, and `clock` what the on-screen clock said, as the
    indexer keeps them."""
    from forensic.index.store import IndexStore
    from forensic.plates import display_plate, normalise_plate
    from forensic.video import VideoInfo

    root = folder / "idx"
    rng = np.random.default_rng(7)
    by_video: dict = {}
    for n, row in enumerate(rows):
        by_video.setdefault((row.camera, row.video), []).append((n, row))
    ids: list = [None] * len(rows)
    paths = {}
    with IndexStore(root, writer=True) as store:
        store.register_embedder("appearance", "appearance-test/v1", dim)
        for (camera, name), members in by_video.items():
            path = folder / "footage" / camera / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(video_bytes or b"0" * 64)
            paths[(camera, name)] = path
            last = max(r.t for _, r in members)
            info = VideoInfo(path, fps=fps, frames=int(last * fps) + 1, width=size[0], height=size[1])
            vid = store.begin_video(path, camera, info, 2.0, f"fp-{camera}-{name}", start, "test" if start else None,
                                    clock=clock, recorded=recorded)
            for n, row in sorted(members, key=lambda m: m[1].t):
                colours = row.colour if isinstance(row.colour, dict) else {"whole": {row.colour: 0.8}}
                vec = np.asarray(row.vector if row.vector is not None else rng.normal(size=dim), np.float32)
                dets = Detections(np.array([row.box], np.float32), np.array([row.conf], np.float32), np.array([row.cls]),
                                  tracker_id=np.array([-1 if row.track is None else row.track], np.int64),
                                  data={"class_name2": np.array([row.cls2 or ""]), "confidence2": np.array([row.conf2 or 0.0], np.float32)})
                (ids[n],) = store.add_detections(vid, int(round(row.t * fps)), row.t, dets, [colours],
                                                 np.array([row.quality], np.float32), [tiny_jpeg(n)],
                                                 {"appearance": (vec / np.linalg.norm(vec))[None]})
                if row.plate:
                    norm = normalise_plate(row.plate)
                    store.add_plates(vid, [{"det_id": ids[n], "text": row.plate, "norm": norm, "display": display_plate(norm),
                                            "conf": row.plate_conf, "reads": 3, "jpeg": tiny_jpeg(100 + n)}])
            store.finish_video(vid)
    return RowIndex(root, ids, paths)


def returned(generator):
    """Run a generator to its end; its return value (its events are dropped)."""
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value
