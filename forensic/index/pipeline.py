"""The indexing run: reader (sampled frames, decoded in a thread) -> motion gate -> detector ->
tracker, attributes and embedders -> store.

`index_videos` is a generator of progress events so the CLI can draw a progress bar (or log lines
under cron) while the library stays free of any UI. Each stage's time is summed in the summary.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from forensic.cameras import Cameras, load_cameras
from forensic.errors import ForensicError, IntegrityError, VideoError
from forensic.files import ContentHash, fingerprint, sha256_file
from forensic.index import recordings
from forensic.index.attributes import attributes, crop
from forensic.index.bestviews import BestViews
from forensic.index.clock import recording_clock
from forensic.index.motion import MotionGate
from forensic.index.plates import PlateCollector
from forensic.index.scene import SceneModel
from forensic.index.side import Side
from forensic.index.store import IndexStore
from forensic.index.tracking import ObjectTracker
from forensic.models import Models
from forensic.settings import Settings
from forensic.timestamps import recorded_start, wall_clock
from forensic.video import Frame, find_videos, open_reader, prefetch, probe

log = logging.getLogger(__name__)

# Stage times in seconds. "decode" runs in its own thread, overlapping the others ("wait" is the time
# the pipeline waited for it), and so does "side" (pose and plates, in a worker thread: "pose" and
# "plates" are the time the pipeline spent on them itself or waiting for them), so the stages can add
# up to more than the wall time.
STAGES = ("decode", "wait", "motion", "detect", "track", "attributes", "pose", "embed", "plates", "clock", "hash", "write", "side")

# Files found in scanned folders are looked at twice, this many seconds apart (one wait for the whole run):
# a file whose size or modification time changed in between is still being written and is left for the next run.
SECOND_LOOK = 1.0
STILL_WRITTEN = "still being written: left for the next run"


@dataclass
class IndexEvent:
    kind: str  # start | progress | done | skipped | pending | failed
    path: Path
    t: float = 0.0  # video seconds processed so far
    duration: float = 0.0
    detections: int = 0
    message: str = ""


@dataclass
class IndexSummary:
    indexed: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    pending: list[Path] = field(default_factory=list)  # still being written: left for the next run
    failed: list[tuple[Path, str]] = field(default_factory=list)
    video_seconds: float = 0.0
    detections: int = 0
    frames_sampled: int = 0  # frames read on the sampling clock
    frames_skipped: int = 0  # of those, left out of detection: nothing moved since the last detected frame
    wall_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @contextmanager
    def timed(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[stage] += time.perf_counter() - start


def index_videos(paths: list[Path], store: IndexStore, models: Models, settings: Settings,
                 summary: IndexSummary | None = None) -> Iterator[IndexEvent]:
    summary = summary if summary is not None else IndexSummary()
    start = time.perf_counter()
    run = yield from start_run(paths, store, models, settings, summary)
    for path in run.videos:
        if path in run.growing:
            yield run.pending(path, summary)
            continue
        yield from _index_one(path, store, models, settings, summary, run.cameras, settle=run.settle(path, settings))
        store.commit()
    summary.wall_seconds = time.perf_counter() - start


@dataclass
class Run:
    """What an indexing run found to do (start_run): the videos in order, the cameras file, and which files
    were named on the command line and which are still growing."""
    videos: list[Path]
    named: set[Path]
    growing: set[Path]
    cameras: Cameras | None

    def settle(self, path: Path, settings: Settings) -> float:
        return 0.0 if path in self.named else settings.settle  # a file named on the command line is never held back

    @staticmethod
    def pending(path: Path, summary: IndexSummary) -> IndexEvent:
        summary.pending.append(path)
        return IndexEvent("pending", path, message=f"{path}: {STILL_WRITTEN} (its size or time changed a moment ago)")


def start_run(paths: list[Path], store: IndexStore, models, settings: Settings, summary: IndexSummary):
    """The start of an indexing run (local or on Ray): the files found (a failed event for each problem), the
    embedders registered (`models`: their `appearance` and `clip` names and sizes), what a killed run left
    folded in, the cameras file read and the files still being written found. Returns the Run."""
    videos, problems = find_videos(paths)
    for path, reason in problems:
        summary.failed.append((path, reason))
        yield IndexEvent("failed", path, message=reason)
    if not videos:
        return Run([], set(), set(), None)
    store.register_embedder("appearance", models.appearance.name, models.appearance.dim)
    if models.clip is not None:
        store.register_embedder("clip", models.clip.name, models.clip.dim)
    elif store.embedder("clip"):
        log.warning("this index has CLIP vectors but no CLIP model is loaded: new videos get none")
    store.sync_search_files()  # folds in what a killed run left
    named = {Path(os.path.abspath(p)) for p in paths if Path(p).is_file()}
    cameras = load_cameras(settings.cameras, store.root)
    scanned = [p for p in videos if p not in named]  # a file named on the command line is never held back
    growing = _still_growing([p for p in scanned if _already_indexed_quick(store, p) is None], settings.settle)
    return Run(videos, named, growing, cameras)


def _look(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _still_growing(paths: list[Path], settle: float) -> set[Path]:
    """Of these files, the ones still being written: their size or modification time changes between two
    looks SECOND_LOOK seconds apart (one wait for all of them). `settle` 0: no file is held back."""
    if settle <= 0 or not paths:
        return set()
    first = {p: _look(p) for p in paths}
    time.sleep(SECOND_LOOK)
    return {p for p, before in first.items() if before is not None and _look(p) != before}


def _already_indexed_quick(store: IndexStore, path: Path) -> str | None:
    """"already indexed" when the same path, size and time are done (no hashing), else None."""
    try:
        st = path.stat()
    except OSError:
        return None
    row = store.video_by_path(path)
    if row is not None and row["status"] == "done" and row["size"] == st.st_size and abs(row["mtime"] - st.st_mtime) < 1e-6:
        return "already indexed"
    return None


def _already_indexed(store: IndexStore, path: Path, replace_changed: bool = False) -> str | None:
    """Why this file needs no indexing (same path, size and time; the same content with a new time; or moved
    here), else None. A fully indexed recording whose content changed is never replaced silently: IntegrityError
    naming both hashes, unless `replace_changed` (its old rows are then replaced)."""
    path.stat()  # a file gone or unreadable since it was found fails here, with its reason
    if _already_indexed_quick(store, path):
        return "already indexed"
    row = store.video_by_path(path)
    if row is None:
        moved = store.moved_from(path, fingerprint(path))
        if moved is not None and (recordings.indexed_hash(moved) is None or recordings.indexed_hash(moved) == sha256_file(path)):
            store.relocate(moved["id"], path)
            return f"already indexed as {moved['path']} (moved)"
        return None
    if row["status"] != "done" or replace_changed:
        return None  # a failed or unfinished file is indexed again
    if recordings.indexed_hash(row) is None:
        raise IntegrityError(f"{path} changed since it was indexed (size or modification time) and the index holds no fingerprint "
                             "of it; the index keeps what it indexed (--replace-changed re-indexes it, replacing its hits)")
    now = sha256_file(path)
    if now == recordings.indexed_hash(row):
        store.relocate(row["id"], path)  # the same content: only its modification time (or nothing) changed
        return "already indexed (same content, new modification time)"
    raise IntegrityError(recordings.changed_line(path, recordings.indexed_hash(row), now) +
                         "; the index keeps the recording it indexed (--replace-changed re-indexes it, replacing its hits)")


@dataclass
class Recording:
    """A recording checked and ready to be described: what the index writer knows of it before its frames are
    read (its probe, fingerprint, camera and the start its file gives). forensic.index.cluster ships it to a
    Ray worker, with `path` (and `info.path`) as the worker sees the file."""
    path: Path
    info: object  # forensic.video.VideoInfo
    digest: str  # forensic.files.fingerprint
    camera: object  # forensic.cameras.Camera
    recorded: object  # the start as the file gives it (forensic.timestamps.recorded_start)
    source: str
    start: object  # datetime: the wall-clock start from the file, before the on-screen clock is read


def _index_one(path: Path, store: IndexStore, models: Models, settings: Settings, summary: IndexSummary,
               cameras: Cameras, settle: float = 0.0) -> Iterator[IndexEvent]:
    recording = yield from check_recording(path, store, settings, summary, cameras, settle)
    if recording is not None:
        yield IndexEvent("start", path, duration=recording.info.duration)
        yield from describe_recording(recording, store, models, settings, summary)


def check_recording(path: Path, store: IndexStore, settings: Settings, summary: IndexSummary, cameras: Cameras,
                    settle: float = 0.0):
    """The index writer's part before a recording's frames are read: already indexed (skipped), still being
    written (pending), unreadable (failed): an event each, and None; else the Recording to describe."""
    try:
        why = _already_indexed(store, path, settings.replace_changed)
        if why:
            summary.skipped.append(path)
            yield IndexEvent("skipped", path, message=why)
            return None
        try:
            info = probe(path)
        except VideoError:
            # an incomplete container written in the last `settle` seconds (a recorder or a copy still at
            # work) is left for the next run; an old one that cannot be read fails
            age = time.time() - path.stat().st_mtime
            if settle > 0 and age < settle:
                summary.pending.append(path)
                yield IndexEvent("pending", path, message=f"{path}: {STILL_WRITTEN} (incomplete, modified {max(age, 0):.0f} s ago)")
                return None
            raise
        digest = fingerprint(path)
    except (VideoError, IntegrityError, OSError) as e:
        reason = f"{path}: {e.strerror or e}" if isinstance(e, OSError) else str(e)
        summary.failed.append((path, reason))
        yield IndexEvent("failed", path, message=reason)
        return None
    camera = cameras.for_path(path)
    # The start as the recording gives it (kept: times are made from it when read, with the cameras file of then)
    recorded, source = recorded_start(path, info.duration, camera.timezone, camera.time_pattern)
    start = wall_clock(recorded, source, camera.timezone, camera.clock_offset).start
    return Recording(path, info, digest, camera, recorded, source, start)


def describe_recording(recording: Recording, store: IndexStore, models: Models, settings: Settings,
                       summary: IndexSummary) -> Iterator[IndexEvent]:
    """Read, detect, track and describe one checked recording into `store` (the index, or on a Ray worker a
    forensic.index.writes.RecordedWrites that the index writer replays)."""
    path, info, camera, recorded, source = recording.path, recording.info, recording.camera, recording.recorded, recording.source
    with summary.timed("clock"):  # a few frames sought and read, for a camera whose on-screen clock is configured
        start, source, clock = recording_clock(path, info, camera, models.clock, recording.start, source)
    if source == "osd":  # the on-screen clock was chosen: its local time is the recorded start
        recorded = clock["recorded_start"]
    video_id = store.begin_video(path, camera.id, info, settings.fps, recording.digest, start.isoformat(), source, clock,
                                 recorded=(recorded, camera.timezone, camera.clock_offset))
    content = ContentHash(path)  # the full SHA-256, read in its own thread while the decoder reads the file
    # Plates and pose run beside the rest, in one worker thread (the models release Python's lock while
    # they compute, so they use the core that decoding and detection leave idle).
    side = Side()
    plates = PlateCollector(models.plates, side=side) if models.plates is not None and settings.plates else None
    views = BestViews(models.pose, side=side)  # each person track's best crop, for pose-based clothing colours
    try:
        yield from _read_video(path, video_id, info, store, models, settings, summary, plates, views, content)
    finally:  # a video that failed half-way: the work still running is waited for, then dropped
        side.shutdown(wait=True, cancel_futures=True)
        summary.stage_seconds["side"] += side.busy


def _read_video(path: Path, video_id: int, info, store: IndexStore, models: Models, settings: Settings, summary: IndexSummary,
                plates: PlateCollector | None, views: BestViews, content: ContentHash) -> Iterator[IndexEvent]:
    reader = open_reader(info, settings.fps, settings.keyframes)
    frames = prefetch(reader, depth=2 * settings.batch)  # decoding runs ahead in its own thread
    gate = MotionGate(settings.min_motion, settings.max_skip)
    tracker = ObjectTracker(settings.fps)
    scene = SceneModel()  # background, white balance, infrared: learned from this video's own frames
    count = sampled = 0
    try:
        batch: list[Frame] = []
        while True:
            with summary.timed("wait"):
                frame = next(frames, None)
            if frame is not None:
                sampled += 1
                with summary.timed("motion"):
                    if gate.needs_detection(frame.t, frame.image):
                        batch.append(frame)
            if batch and (len(batch) == settings.batch or frame is None):
                count += _process(batch, video_id, store, models, tracker, summary, scene, views, plates)
                store.commit()
                yield IndexEvent("progress", path, t=batch[-1].t, duration=info.duration, detections=count)
                batch = []
            if frame is None:
                break
    except (VideoError, OSError, ForensicError) as e:
        reason = str(e) if not isinstance(e, OSError) else f"{path}: {e.strerror or e}"
        store.fail_video(video_id, reason)
        summary.failed.append((path, reason))
        yield IndexEvent("failed", path, message=reason)
        return
    except Exception as e:  # noqa: BLE001 - describing or embedding one picture went wrong (a bug, a strange crop):
        # this file fails with one line naming the exception, and the batch goes on with the next file
        log.debug("indexing %s failed", path, exc_info=True)  # the traceback, for a bug report (-vv)
        at = f" at {batch[0].t:.1f} s" if batch else ""
        reason = f"{path}: failed{at} describing its objects ({type(e).__name__}: {e})"
        store.fail_video(video_id, reason)
        summary.failed.append((path, reason))
        yield IndexEvent("failed", path, message=reason)
        return
    finally:
        frames.close()
        summary.stage_seconds["decode"] += frames.busy
        summary.frames_sampled += sampled
        summary.frames_skipped += gate.skipped
    note = None
    if reader.truncated:
        note = f"{path}: truncated or corrupt, decoded {reader.last_t:.1f} of {info.duration:.1f} s (the readable part is indexed)"
    try:
        with summary.timed("pose"):
            track_colors = views.finish()  # clothing colours of each person's best view
        if plates is not None:
            with summary.timed("plates"):
                plates.flush()  # the tracks still in the picture at the end
                found = plates.results()
            log.info("%s: %d plates from %d views of vehicles, %d plate crops read (plate detector %.1f s, reader %.1f s in all)",
                     path.name, len(found), plates.views_read, plates.reader.plates_read, plates.reader.seconds["detect"],
                     plates.reader.seconds["read"])
            with summary.timed("write"):
                store.add_plates(video_id, found)
        with summary.timed("hash"):
            hashed = content.result()  # OSError (ChangedWhileHashed included) fails this file
        with summary.timed("write"):
            store.set_time_base(video_id, reader.time_base)
            store.set_content(video_id, hashed.sha256, hashed.sampled)
            store.finish_video(video_id, note, track_colors)  # its tracks: their colours are voted here
    except OSError as e:
        reason = f"{path}: {e.strerror or e} (hashing its content; the next run tries it again)"
        store.fail_video(video_id, reason)
        summary.failed.append((path, reason))
        yield IndexEvent("failed", path, message=reason)
        return
    except Exception as e:  # noqa: BLE001 - as above: this file fails, the batch goes on
        log.debug("finishing %s failed", path, exc_info=True)
        reason = f"{path}: failed building its tracks ({type(e).__name__}: {e})"
        store.fail_video(video_id, reason)
        summary.failed.append((path, reason))
        yield IndexEvent("failed", path, message=reason)
        return
    if note:
        summary.failed.append((path, note))
    summary.indexed.append(path)
    summary.video_seconds += reader.last_t + 1.0 / info.fps
    summary.detections += count
    yield IndexEvent("failed" if note else "done", path, t=reader.last_t, duration=info.duration, detections=count, message=note or "")


def _process(batch: list[Frame], video_id: int, store: IndexStore, models: Models, tracker: ObjectTracker,
             summary: IndexSummary, scene: SceneModel | None = None, views: BestViews | None = None,
             plates: PlateCollector | None = None) -> int:
    """Detect a batch of frames, then track, describe, embed and store each frame's objects."""
    with summary.timed("detect"):
        found = models.detector.detect([f.image for f in batch])
    described = []
    for frame, dets in zip(batch, found):
        with summary.timed("embed"):
            appearance = models.appearance.embed(frame.image, dets)
        with summary.timed("track"):
            dets.tracker_id = tracker.update(frame.image, dets, appearance)  # every detected frame, even empty ones
        with summary.timed("attributes"):
            if scene is not None:
                scene.update(frame.image)
            if len(dets) == 0:
                continue
            colors, quality, thumbs = attributes(frame.image, dets, scene)
            described.append((frame, dets, colors, quality, thumbs, {"appearance": appearance}))
        if views is not None:
            with summary.timed("pose"):
                views.add(frame.image, frame.t, dets, quality, scene)
    if models.clip is not None and described:
        with summary.timed("embed"):  # one CLIP batch for the whole frame batch
            crops = [crop(frame.image, b, 0.05) for frame, dets, *_ in described for b in dets.xyxy]
            vectors = models.clip.embed_images(crops)
            start = 0
            for frame, dets, *_, vecs in described:
                vecs["clip"] = vectors[start:start + len(dets)]
                start += len(dets)
    n = 0
    with summary.timed("write"):
        for frame, dets, colors, quality, thumbs, vecs in described:
            ids = store.add_detections(video_id, frame.index, frame.t, dets, colors, quality, thumbs, vecs)
            n += len(dets)
            if plates is not None:  # the track's best views so far are kept for its plate
                plates.add(frame.t, frame.image, dets, quality, ids)
    if plates is not None:
        with summary.timed("plates"):
            plates.flush(batch[-1].t)
    return n
