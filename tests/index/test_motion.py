"""The motion gate: unchanged frames skip the detector, small or slow movers still count, and a frame
is detected at least every `max_skip` seconds."""

from __future__ import annotations

import numpy as np
import pytest

from forensic.index.motion import MotionGate


def scene(square_at: int | None = None, size: int = 40, noise: int = 0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((720, 1280, 3), 90, np.uint8)
    image[400:, :] = 60  # road
    if noise:
        image = np.clip(image.astype(np.int16) + rng.integers(-noise, noise + 1, image.shape), 0, 255).astype(np.uint8)
    if square_at is not None:
        image[300:300 + size, square_at:square_at + size] = 230
    return image


def test_unchanged_frames_are_skipped_until_max_skip():
    gate = MotionGate(min_changed=0.0005, max_skip=4.0)
    decisions = [gate.needs_detection(t * 0.5, scene()) for t in range(20)]  # 10 s, nothing moves
    assert decisions[0] and sum(decisions) == 3  # first frame, then at 4 s and 8 s
    assert [i for i, d in enumerate(decisions) if d] == [0, 8, 16] and gate.skipped == 17


def test_a_person_sized_mover_is_detected():
    gate = MotionGate()
    assert gate.needs_detection(0.0, scene(100))
    assert gate.needs_detection(0.5, scene(160))  # a 40 px object moved 60 px


def test_slow_movers_add_up_against_the_last_detected_frame():
    gate = MotionGate(min_changed=0.0005, max_skip=100)
    decisions = [gate.needs_detection(k * 0.5, scene(100 + 2 * k)) for k in range(12)]  # 2 px per sample
    assert decisions[0] and not decisions[1] and any(decisions[2:])


def test_sensor_noise_is_not_motion():
    gate = MotionGate(max_skip=100)
    assert gate.needs_detection(0.0, scene(noise=12, seed=1))
    assert not any(gate.needs_detection(0.5 * k, scene(noise=12, seed=k)) for k in range(2, 8))


def test_zero_threshold_detects_every_frame():
    gate = MotionGate(min_changed=0.0)
    assert all(gate.needs_detection(0.5 * k, scene()) for k in range(5)) and gate.skipped == 0


@pytest.mark.slow
def test_real_footage(footage):
    """Busy crossroad: every frame is detected. Night yard before the person comes: mostly skipped."""
    from realdata import ACVIEW
    from forensic.video import FrameReader, probe

    busy = MotionGate()
    assert all(busy.needs_detection(f.t, f.image) for f in FrameReader(probe(footage / ACVIEW), 2.0))
    night = MotionGate()
    frames = [f for f in FrameReader(probe(footage / "night_ir_yard_person.mp4"), 2.0) if f.t < 40]
    detected = sum(night.needs_detection(f.t, f.image) for f in frames)
    assert detected <= len(frames) / 2, (detected, len(frames))
