"""Best views: one crop per person track, pose keypoints on it, clothing colours from them. The pose
model is replaced by a stand-in (the seam: BestViews' `pose`, any object with keypoints_many)."""

from __future__ import annotations

import numpy as np

from forensic.detections import Detections
from forensic.index.bestviews import MIN_HEIGHT, BestViews


class StandInPose:
    """Keypoints of a standing person filling the asked box: shoulders at 25 %, hips at 55 %."""

    def __init__(self):
        self.asked = 0

    def keypoints_many(self, items):
        out = []
        for _, (x1, y1, x2, y2) in items:
            self.asked += 1
            w, h = x2 - x1, y2 - y1
            kp = np.zeros((17, 3), np.float32)
            kp[:, 2] = 0.9
            kp[0:5, :2] = (x1 + w / 2, y1 + 0.1 * h)
            kp[5:7, :2] = [(x1 + 0.25 * w, y1 + 0.25 * h), (x1 + 0.75 * w, y1 + 0.25 * h)]
            kp[11:13, :2] = [(x1 + 0.35 * w, y1 + 0.55 * h), (x1 + 0.65 * w, y1 + 0.55 * h)]
            kp[13:15, :2] = [(x1 + 0.35 * w, y1 + 0.75 * h), (x1 + 0.65 * w, y1 + 0.75 * h)]
            kp[15:17, :2] = [(x1 + 0.35 * w, y1 + 0.95 * h), (x1 + 0.65 * w, y1 + 0.95 * h)]
            kp[7:11, 2] = 0.0
            out.append(kp)
        return out


def frame_with(people):
    """A grey frame with people: (box, top BGR, bottom BGR)."""
    img = np.full((480, 640, 3), 110, np.uint8)
    for (x1, y1, x2, y2), top, bottom in people:
        h = y2 - y1
        img[y1 + int(0.25 * h):y1 + int(0.55 * h), x1:x2] = top
        img[y1 + int(0.55 * h):y2, x1:x2] = bottom
    return img


def test_tall_people_seen_twice_get_pose_colours_and_others_keep_their_boxes():
    tall, small, once = (100, 50, 160, 250), (300, 100, 320, 100 + MIN_HEIGHT - 10), (400, 50, 460, 250)
    people = [(tall, (0, 0, 200), (200, 80, 20)), (small, (0, 0, 200), (200, 80, 20)), (once, (0, 200, 0), (0, 0, 0))]
    pose = StandInPose()
    views = BestViews(pose)
    for k in range(3):
        dets = Detections(np.array([p[0] for p in people], np.float32), np.full(3, 0.9, np.float32), np.array(["person"] * 3))
        dets.tracker_id = np.array([1, 2, 3 if k == 0 else -1])  # the third person is tracked only once
        views.add(frame_with(people), 0.5 * k, dets, np.array([0.5 + 0.1 * k] * 3, np.float32))
    colours = views.finish()
    assert set(colours) == {1} and pose.asked == 1
    assert max(colours[1]["upper"], key=colours[1]["upper"].get) == "red"
    assert max(colours[1]["lower"], key=colours[1]["lower"].get) == "blue"


def test_without_a_pose_model_nothing_is_kept():
    views = BestViews(None)
    dets = Detections(np.array([[100, 50, 160, 250]], np.float32), np.ones(1, np.float32), np.array(["person"]))
    dets.tracker_id = np.array([1])
    views.add(frame_with([]), 0.0, dets, np.ones(1, np.float32))
    assert views.finish() == {} and views.views == {}


class SlowPose(StandInPose):
    """The stand-in, slow enough that a batch started in the worker thread is still running when the
    pipeline goes on; records each batch it was given."""

    def __init__(self, fail: bool = False):
        super().__init__()
        self.batches, self.fail = [], fail

    def keypoints_many(self, items):
        import time

        time.sleep(0.02)
        if self.fail:
            raise RuntimeError("broken pose model")
        self.batches.append([tuple(round(v) for v in box) for _, box in items])
        return super().keypoints_many(items)


def _walk(views: BestViews, tracks: int = 40) -> dict:
    """People passing one after another: each seen 3 times, then gone (stale batches start mid-video)."""
    for k in range(tracks):
        box = (20 + 10 * (k % 40), 50, 80 + 10 * (k % 40), 250)
        for j in range(3):
            dets = Detections(np.array([box], np.float32), np.full(1, 0.9, np.float32), np.array(["person"]))
            dets.tracker_id = np.array([k + 1])
            views.add(frame_with([(box, (0, 0, 200), (200, 80, 20))]), 4.0 * k + 0.5 * j, dets, np.array([0.5 + 0.1 * j], np.float32))
    return views.finish()


def test_pose_beside_the_pipeline_gives_the_same_colours_and_batches_as_inline():
    from concurrent.futures import ThreadPoolExecutor

    inline_pose, side_pose = SlowPose(), SlowPose()
    inline = _walk(BestViews(inline_pose))
    with ThreadPoolExecutor(1) as side:
        beside = _walk(BestViews(side_pose, side=side))
    assert len(inline) == 40 and beside == inline
    assert side_pose.batches == inline_pose.batches and len(inline_pose.batches) > 1  # batches started mid-video


def test_a_pose_model_failing_in_the_worker_leaves_the_box_colours(caplog):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as side:
        views = BestViews(SlowPose(fail=True), side=side)
        assert _walk(views) == {}
    assert views.disabled and "pose keypoints unavailable" in caplog.text
