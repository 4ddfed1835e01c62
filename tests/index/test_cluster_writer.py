"""The index writer's side of --ray without Ray (forensic/index/cluster.py `_write_next`): a recording described
by the worker task's own code (`describe_on_worker`, the stub detector's models in its model cache) is written
when its task finishes; a task that died, a worker with other models, a file that is not the same there and a
write that fails each fail that recording alone, with one line and a 'failed' row that the next run retries.
Ray stands in as FakeRay, the two calls the writer makes of it (wait, get)."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from builders import SCENE, StubDetector, returned, stub_models, stub_settings, write_video
from forensic.index import cluster
from forensic.index.pipeline import IndexSummary, check_recording, start_run
from forensic.index.store import IndexStore


class WorkerCrashedError(RuntimeError):
    pass


class RayTaskError(RuntimeError):
    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


class Task:
    """A Ray task as FakeRay sees it: its outcome."""

    def __init__(self, outcome):
        self.outcome = outcome


class FakeRay:
    """A task is its outcome, already there: a result (pickled and back, as Ray ships it) or an exception."""
    exceptions = SimpleNamespace(RayError=RuntimeError, WorkerCrashedError=WorkerCrashedError, RayTaskError=RayTaskError)

    @staticmethod
    def wait(tasks, num_returns=1):
        return tasks[:num_returns], tasks[num_returns:]

    @staticmethod
    def get(task):
        if isinstance(task.outcome, Exception):
            raise task.outcome
        return pickle.loads(pickle.dumps(task.outcome))


@pytest.fixture
def writer(tmp_path, monkeypatch):
    """Two synthetic recordings checked by the index writer, the stub models as the workers' loaded models."""
    videos = [write_video(tmp_path / "footage" / camera / f"{camera}.mp4", objects) for camera, objects in SCENE.items()]
    settings = stub_settings(tmp_path / "idx")
    models = stub_models(StubDetector([ob for objects in SCENE.values() for ob in objects]))
    monkeypatch.setitem(cluster._MODELS, repr(settings), models)
    store = IndexStore(settings.index, writer=True)
    summary = IndexSummary()
    run = returned(start_run([tmp_path / "footage"], store, models, settings, summary))
    recordings = [returned(check_recording(path, store, settings, summary, run.cameras)) for path in run.videos]
    identity = cluster._identity_of(models)
    yield SimpleNamespace(store=store, settings=settings, summary=summary, recordings=recordings, identity=identity, videos=videos)
    store.close()


def write(w, recording, outcome) -> list:
    task = Task(outcome)
    return list(cluster._write_next(FakeRay, {task: recording}, w.store, w.settings, w.summary, w.identity))


def described(w, recording, **changes) -> dict:
    return cluster.describe_on_worker(replace(recording, **changes), w.settings) if changes else \
        cluster.describe_on_worker(recording, w.settings)


def status(w, recording) -> tuple:
    row = w.store.video_by_path(recording.path)
    return (row["status"], row["error"]) if row is not None else None


def test_a_finished_recording_is_written_as_a_local_run_writes_it(writer):
    first, second = writer.recordings
    events = write(writer, second, described(writer, second)) + write(writer, first, described(writer, first))
    assert [e.kind for e in events] == ["start", "done", "start", "done"]
    assert [e.path for e in events if e.kind == "done"] == [second.path, first.path]
    assert status(writer, first) == ("done", None) and status(writer, second) == ("done", None)
    assert writer.summary.indexed == [second.path, first.path] and writer.summary.detections > 40 and not writer.summary.failed


def test_a_dead_worker_fails_its_recording_alone_and_leaves_a_failed_row(writer):
    first, second = writer.recordings
    (event,) = write(writer, first, WorkerCrashedError("The worker died unexpectedly. Check python-core-worker-*.log"))
    assert event.kind == "failed" and event.message == f"{first.path}: failed on a Ray worker (worker died: killed or crashed); " \
                                                       "the next run tries it again"
    assert status(writer, first) == ("failed", event.message)
    assert [e.kind for e in write(writer, second, described(writer, second))][-1] == "done"
    assert writer.summary.failed == [(first.path, event.message)] and writer.summary.indexed == [second.path]


def test_a_bug_on_a_worker_is_named_in_one_line(writer):
    (event,) = write(writer, writer.recordings[0], RayTaskError(ValueError("no colour\nTraceback (most recent call last): ...")))
    assert event.message.endswith("failed on a Ray worker (ValueError: no colour); the next run tries it again")
    assert "\n" not in event.message


def test_a_worker_with_other_models_is_not_mixed_into_the_index(writer):
    recording = writer.recordings[0]
    result = described(writer, recording)
    result["identity"] = replace(result["identity"], version="0.0-other")
    (event,) = write(writer, recording, result)
    assert event.kind == "failed" and "other models or another forensic" in event.message and "0.0-other" in event.message
    assert status(writer, recording)[0] == "failed"
    with IndexStore(writer.settings.index) as store:
        assert store.stats()["detections"] == 0


def test_a_worker_without_the_plate_reader_is_not_mixed_in_either(writer):
    recording = writer.recordings[0]
    result = described(writer, recording)
    result["identity"] = replace(result["identity"], parts=("pose",))  # the others read plates: this one would not
    (event,) = write(writer, recording, result)
    assert event.kind == "failed" and "with pose, forensic" in event.message and status(writer, recording)[0] == "failed"


def test_a_worker_that_sees_another_file_refuses_it(writer, tmp_path):
    recording = writer.recordings[0]
    other = write_video(tmp_path / "elsewhere" / recording.path.name, SCENE["cam2"])  # the same name, other content
    (event,) = write(writer, recording, described(writer, recording, path=other, info=replace(recording.info, path=other)))
    assert event.message.startswith(f"{recording.path}: as {other} on Ray node ")
    assert "is not the same file there" in event.message and "--path-map" in event.message
    assert status(writer, recording)[0] == "failed"


def test_a_write_that_fails_fails_that_recording_only(writer, monkeypatch):
    first, second = writer.recordings
    result = described(writer, first)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(IndexStore, "set_content", full)
        events = write(writer, first, result)
    assert [e.kind for e in events] == ["start", "failed"]
    assert events[-1].message == f"{first.path}: failed writing it into the index (OSError: [Errno 28] No space left on device)"
    assert status(writer, first) == ("failed", events[-1].message)
    assert not (writer.settings.index / "thumbs" / str(writer.store.video_by_path(first.path)["id"])).exists()
    assert [e.kind for e in write(writer, second, described(writer, second))][-1] == "done"


def test_worker_log_records_come_back_under_the_index_writers_names(writer, caplog, tmp_path):
    recording = writer.recordings[0]
    there = tmp_path / "mnt" / recording.path.name
    there.parent.mkdir()
    there.symlink_to(recording.path)
    result = cluster.describe_on_worker(replace(recording, path=there, info=replace(recording.info, path=there)), writer.settings,
                                        level=10)
    result["logs"].append(("forensic.index.pipeline", 30, f"{there}: something the worker said"))
    with caplog.at_level(10, logger="forensic"):
        write(writer, recording, result)
    said = [r.getMessage() for r in caplog.records if r.name == "forensic.index.pipeline"]
    assert f"{recording.path}: something the worker said" in said  # the worker's path becomes the index writer's
    assert status(writer, recording) == ("done", None) and Path(writer.store.video_by_path(recording.path)["path"]) == recording.path
