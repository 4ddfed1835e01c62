"""A recording's index writes, made in one place and committed in another.

On a Ray worker (forensic.index.cluster) the pipeline describes a recording into `RecordedWrites` instead of
the index: it takes the calls of IndexStore's write API that forensic.index.pipeline makes (begin_video,
add_detections, add_plates, set_time_base, set_content, finish_video, fail_video, commit), keeps them in
order with their arguments (numpy arrays, thumbnail and plate-crop JPEG bytes) and answers with
provisional ids. Nothing is written where the worker runs. The index writer then `replay`s them on the real
IndexStore, in the same begin_video ... finish_video frame as a local run, mapping the provisional ids to
the real ones (a plate names the detection it was read on), so the index ends exactly as a local run of the
same recording leaves it (other ids, the same rows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forensic.detections import SECOND_CLASS, SECOND_CONFIDENCE, Detections

VIDEO = 0  # the provisional video id (one recording per RecordedWrites)


class RecordedWrites:
    """Stands in for IndexStore where the pipeline writes one recording; `calls` is what it asked for."""

    def __init__(self):
        self.calls: list[tuple[str, tuple]] = []
        self.detections = 0  # provisional detection ids handed out: 0, 1, 2, ...

    def begin_video(self, path: Path, camera: str, info, sample_fps: float, fingerprint: str | None = None,
                    start_time: str | None = None, time_source: str | None = None, clock: dict | None = None,
                    recorded: tuple | None = None) -> int:
        self.calls.append(("begin_video", (camera, info, sample_fps, fingerprint, start_time, time_source, clock, recorded)))
        return VIDEO

    def add_detections(self, video_id: int, frame: int, t: float, detections, colors: list[dict], quality: np.ndarray,
                       thumbs: list[bytes], vectors: dict[str, np.ndarray]) -> list[int]:
        # only what IndexStore.add_detections reads of the detections (not their pooled features)
        data = {k: np.asarray(detections.data[k]) for k in (SECOND_CLASS, SECOND_CONFIDENCE) if k in detections.data}
        slim = Detections(np.asarray(detections.xyxy), np.asarray(detections.confidence), np.asarray(detections.class_name),
                          tracker_id=None if detections.tracker_id is None else np.asarray(detections.tracker_id), data=data)
        vectors = {key: np.ascontiguousarray(vecs) for key, vecs in vectors.items()}
        self.calls.append(("add_detections", (frame, t, slim, list(colors), np.asarray(quality), list(thumbs), vectors)))
        ids = list(range(self.detections, self.detections + len(detections)))
        self.detections += len(detections)
        return ids

    def add_plates(self, video_id: int, plates: list[dict]) -> None:
        self.calls.append(("add_plates", ([dict(p) for p in plates],)))

    def set_time_base(self, video_id: int, t_base: str) -> None:
        self.calls.append(("set_time_base", (t_base,)))

    def set_content(self, video_id: int, sha256: str, sampled_sha256: str) -> None:
        self.calls.append(("set_content", (sha256, sampled_sha256)))

    def finish_video(self, video_id: int, error: str | None = None, track_colors: dict[int, dict] | None = None) -> None:
        self.calls.append(("finish_video", (error, track_colors)))

    def fail_video(self, video_id: int, error: str) -> None:
        # the rows written so far are dropped by the real fail_video anyway: not shipped
        self.calls = [c for c in self.calls if c[0] == "begin_video"]
        self.calls.append(("fail_video", (error,)))

    def commit(self) -> None:
        if self.calls and self.calls[-1][0] != "commit":
            self.calls.append(("commit", ()))


def replay(calls: list[tuple[str, tuple]], store, path: Path) -> int:
    """Make `calls` (RecordedWrites.calls) on `store`, the index, for the recording at `path` (as the index
    names it); returns its video id. An exception from the store comes through; the caller fails the video."""
    video_id = None
    ids: list[int] = []  # provisional detection id -> real id
    for name, args in calls:
        if name == "begin_video":
            camera, info, sample_fps, fingerprint, start_time, time_source, clock, recorded = args
            video_id = store.begin_video(path, camera, info, sample_fps, fingerprint, start_time, time_source, clock, recorded=recorded)
        elif video_id is None:
            raise ValueError(f"recorded writes of {path} do not begin with begin_video ({name})")
        elif name == "add_detections":
            ids.extend(store.add_detections(video_id, *args))
        elif name == "add_plates":
            store.add_plates(video_id, [dict(p, det_id=ids[int(p["det_id"])]) for p in args[0]])
        elif name == "commit":
            store.commit()
        else:  # set_time_base, set_content, finish_video, fail_video
            getattr(store, name)(video_id, *args)
    if video_id is None:
        raise ValueError(f"no recorded writes for {path}")
    return video_id
