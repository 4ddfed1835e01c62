"""Indexing on Ray: `forensic index --ray ADDRESS` (docs/cluster.md).

One Ray task per recording (its frames stay in order for the tracker). The index writer, this process,
holds the index lock and does what needs the index: it finds the files, skips those already indexed, moved
or still being written, refuses changed ones, probes and fingerprints each one and reads the start its file
gives (check_recording, as a local run does). A worker reads the on-screen clock, decodes, detects, tracks
and describes the recording, and hashes its content (forensic.index.pipeline.describe_recording, the code
a local run runs), into a forensic.index.writes.RecordedWrites: nothing is written where it runs. Its
writes come back to the index writer, which replays them on the index as each recording finishes (several
are in flight at once), so locking, incremental skipping, SIGKILL safety and exit codes are a local run's.

A recording whose task fails (a bug, its worker killed or out of memory, its node gone) fails alone with
one line and a 'failed' row: the next run indexes it again. Tasks are never retried by Ray.

Ray is imported only here, only when asked for, and made to keep to itself: no usage statistics, no
dashboard, no web server; a local instance (`--ray local`) listens on 127.0.0.1 only, asks a token of
whoever connects, and keeps its session files (logs, sockets, spilled objects) in a folder of its own
that only this user can enter, removed when it stops. Workers load the models through forensic.models with
the index writer's settings, offline as a local run is (forensic.offline).
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Iterable, Iterator

from forensic.errors import ForensicError
from forensic.files import fingerprint
from forensic.index.pipeline import (IndexEvent, IndexSummary, Recording, check_recording, describe_recording,
                                     start_run)
from forensic.index.store import IndexStore
from forensic.index.writes import RecordedWrites, replay
from forensic.settings import Settings

log = logging.getLogger(__name__)

INSTALL = "pip install 'forensic[cluster]'"
# Test seam: a worker SIGKILLs itself (a real death) when it starts the recording of this file name. The index
# writer reads the variable and hands it to the task, so a test can run the same Ray instance with and without it.
KILL_SEAM = "FORENSIC_TEST_KILL_WORKER_ON"
SESSION_ENV = "FORENSIC_RAY_SESSION"  # names a local instance's session folder in the environment of its processes
IN_FLIGHT = 2  # recordings handed to Ray per worker: one running, one waiting, so no worker idles while results are written


# -- options --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PathMap:
    """Where the workers find the index writer's files: (writer prefix, worker prefix) pairs, e.g. footage the
    index machine mounts at /mnt/nas and the workers at /srv/cctv. The longest matching prefix wins; a path
    under none is the same on both sides."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, items: Iterable[str]) -> "PathMap":
        """From --path-map values WRITER=WORKER (both absolute folders; one '=' each)."""
        pairs = []
        for item in items:
            parts = item.split("=")
            if len(parts) != 2 or not all(parts):
                raise ForensicError(f"--path-map {item!r}: give WRITER=WORKER, two absolute folders joined by one '=' "
                                    "(e.g. /mnt/nas=/srv/cctv)")
            here, there = (os.path.normpath(p) for p in parts)
            if not (os.path.isabs(here) and os.path.isabs(there)):
                raise ForensicError(f"--path-map {item!r}: both folders must be absolute paths (e.g. /mnt/nas=/srv/cctv)")
            if here in dict(pairs):
                raise ForensicError(f"--path-map: {here} is mapped twice")
            pairs.append((here, there))
        return cls(tuple(sorted(pairs, key=lambda p: len(p[0]), reverse=True)))

    def to_worker(self, path: Path | str) -> Path:
        text = os.path.normpath(str(path))
        for here, there in self.pairs:
            if text == here or text.startswith(here.rstrip("/") + "/"):
                return Path(there + text[len(here):]) if here != "/" else Path(there.rstrip("/") + text)
        return Path(text)

    def __bool__(self) -> bool:
        return bool(self.pairs)


@dataclass(frozen=True)
class Cluster:
    """Where to index: `address` "local" (a Ray instance of this process's own, on this machine), "auto" (the
    one started here with `ray start`), or a cluster's head (HOST:PORT, this machine one of its nodes); `workers`: at most
    this many recordings at once (default: a local instance's cores, a cluster's CPUs as its nodes declare
    them); `path_map`: where the workers find the files."""

    address: str
    workers: int | None = None
    path_map: PathMap = field(default_factory=PathMap)

    def __post_init__(self):
        if not self.address or not self.address.strip():
            raise ForensicError("--ray needs an address: local, auto, or the cluster's HOST:PORT")
        if self.workers is not None and self.workers < 1:
            raise ForensicError(f"--ray-workers must be at least 1, got {self.workers}")


# -- Ray, kept to itself ---------------------------------------------------------------------------------------
def import_ray(local: bool = False):
    """Ray, without usage statistics; one line naming what to install when it is missing. `local`: before Ray is
    first imported, keep this process's instance on the loopback address (Ray's single-machine mode)."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    if local and "ray" not in sys.modules:  # read when Ray is imported
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # node address 127.0.0.1: every server binds the loopback
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    try:
        return importlib.import_module("ray")
    except ImportError as e:
        raise ForensicError(f"--ray needs Ray, which is not installed ({e.name or 'ray'}): {INSTALL}") from None


class LocalRay:
    """A Ray instance of this process's own on this machine (`--ray local`), as a context manager: `workers`
    CPUs (default: all cores), listening on 127.0.0.1 only, with a token of its own, its session files in a
    private folder (0700) removed when it stops, no dashboard or web server (Ray's starts one even without the
    dashboard, whose usage module asks the cloud metadata addresses what machine it runs on)."""

    ENV = ("RAY_USAGE_STATS_ENABLED", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", SESSION_ENV)

    def __init__(self, workers: int | None = None):
        self.workers = workers
        self.folder: str | None = None
        self._env: dict = {}

    def __enter__(self):
        ray = import_ray(local=True)
        if ray.is_initialized():
            raise ForensicError("a Ray instance is already running in this process")
        self._env = {k: os.environ.get(k) for k in self.ENV}
        self.folder = _private_folder()  # 0700: Ray makes its own folders world-writable
        _remove_stale(Path(self.folder).parent)
        os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
        os.environ[SESSION_ENV] = self.folder  # inherited by every Ray process: how leftovers are found (_remove_stale)
        config = getattr(importlib.import_module("ray._raylet"), "Config", None)
        if config is not None:  # Ray read the mode when it was imported: read again (as Ray does when it turns tokens on)
            config.initialize("")
        services = importlib.import_module("ray._private.services")
        start_api_server = getattr(services, "start_api_server", None)
        if start_api_server is not None:
            services.start_api_server = _no_api_server
        constants = importlib.import_module("ray._private.ray_constants")
        multi_node = getattr(constants, "ENABLE_RAY_CLUSTER", None)
        constants.ENABLE_RAY_CLUSTER = False  # as the environment variable import_ray sets: the node is 127.0.0.1
        try:
            ray.init(address="local", num_cpus=self.workers or os.cpu_count() or 1, include_dashboard=False,
                     _node_ip_address="127.0.0.1", _temp_dir=os.path.join(self.folder, "r"), log_to_driver=False,
                     logging_level=logging.WARNING)
        except Exception as e:  # noqa: BLE001 - Ray's own errors, worded its way
            log.debug("starting Ray failed", exc_info=True)
            if ray.is_initialized():
                ray.shutdown()
            self._cleanup()
            raise ForensicError(f"--ray local: a local Ray instance could not be started ({_first_line(e)})") from None
        except BaseException:
            self._cleanup()
            raise
        finally:
            if start_api_server is not None:
                services.start_api_server = start_api_server
            if multi_node is not None:
                constants.ENABLE_RAY_CLUSTER = multi_node
        return self

    def __exit__(self, *exc):
        import ray

        ray.shutdown()
        self._cleanup()

    def _cleanup(self) -> None:
        for key, value in self._env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def _private_folder() -> str:
    """A new folder (0700) for a local instance's session files, in the temporary folder, or in /tmp when that one's
    path is too long: Ray's sockets live four levels down, and a Unix socket's path holds at most 107 bytes."""
    base = tempfile.gettempdir()
    if len(base) + len("/forensic-ray-1234567-abcdefgh/r/session_2026-12-02_17-22-13_123456_1234567/sockets/plasma_store") > 107 \
            and os.path.isdir("/tmp"):
        base = "/tmp"
    return tempfile.mkdtemp(prefix=f"forensic-ray-{os.getpid()}-", dir=base)


def _remove_stale(folder: Path) -> None:
    """Remove the session folders of local instances whose index writer is gone (killed: nothing could clean up),
    and stop what is left of their processes (Ray's agents outlive a killed driver and its raylet)."""
    for path in folder.glob("forensic-ray-*-*"):
        try:
            pid = int(path.name.split("-")[2])
            if path.stat().st_uid != os.getuid() or pid == os.getpid():
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            _stop_leftovers(str(path))
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, OSError):
            continue


def _stop_leftovers(session: str) -> list[int]:
    """SIGKILL this user's processes of a killed local instance: those holding a file of its session folder
    open (Ray's agents keep their logs there) or whose environment names it (SESSION_ENV)."""
    marker = b"\0" + f"{SESSION_ENV}={session}".encode() + b"\0"
    stopped = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.stat().st_uid != os.getuid() or int(proc.name) == os.getpid():
                continue
            if marker in b"\0" + (proc / "environ").read_bytes() or _holds_open(proc, session):
                os.kill(int(proc.name), signal.SIGKILL)
                stopped.append(int(proc.name))
        except (OSError, ValueError):
            continue
    if stopped:
        log.info("stopped %d processes left by a killed local Ray instance", len(stopped))
    return stopped


def _holds_open(proc: Path, folder: str) -> bool:
    for fd in (proc / "fd").iterdir():
        try:
            if os.readlink(fd).startswith(folder + "/"):
                return True
        except OSError:
            continue
    return False


def _no_api_server(*args, **kwargs):
    """Stands in for ray._private.services.start_api_server: no dashboard process (it is optional to Ray)."""
    return None, None


@contextmanager
def connected(cluster: Cluster):
    """Ray, connected as `cluster` says (a local instance started and stopped here). A Ray already initialised in
    this process (a host program's, a test's) is used as it is and left running. What Ray's driver would print
    on the terminal (a worker's death in a paragraph, in colour) goes to this module's log, at debug level:
    the failed recording's own line says it."""
    ray = import_ray(local=cluster.address == "local")
    worker = importlib.import_module("ray._private.worker")
    printer = getattr(worker, "print_to_stdstream", None)
    if printer is not None:
        worker.print_to_stdstream = _to_log
    try:
        with _connection(ray, cluster):
            yield ray
    finally:
        if printer is not None:
            worker.print_to_stdstream = printer


def _to_log(data: dict, ignore_prefix: bool = False) -> None:
    for line in data.get("lines", ()):
        log.debug("Ray (%s): %s", data.get("pid", "?"), line)


@contextmanager
def _connection(ray, cluster: Cluster):
    if ray.is_initialized():
        yield
        return
    if cluster.address == "local":
        with LocalRay(cluster.workers):
            yield
        return
    if cluster.address != "auto":
        _answers(cluster.address)  # Ray itself would wait for an address where nothing listens for minutes
    try:
        ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.WARNING)
    except Exception as e:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError ... as Ray words them
        raise ForensicError(f"--ray {cluster.address}: cannot connect to the Ray cluster ({_first_line(e)}); start it with "
                            "'ray start --head' on this machine (docs/cluster.md), or use --ray local") from None
    try:
        yield
    finally:
        ray.shutdown()


def _answers(address: str, timeout: float = 5.0) -> None:
    """Refuse (one line) a cluster address that is not HOST:PORT, or where nothing answers."""
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        raise ForensicError(f"--ray {address}: give local, auto or the Ray head's HOST:PORT (e.g. 10.0.0.10:6379)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise ForensicError(f"--ray {address}: no Ray cluster answers there ({e.strerror or e}); start it with 'ray start --head' "
                            "(docs/cluster.md), or use --ray local") from None


# -- the index writer ------------------------------------------------------------------------------------------
@dataclass
class _Identity:
    """What a worker describes recordings with: the embedders (as forensic.index.pipeline.start_run registers
    them), the optional readers it has (plates, pose, the on-screen clock: a node without the `plates` extra
    would index without plates) and forensic's version. Every recording must come from the same."""
    appearance: tuple
    clip: tuple | None
    version: str
    parts: tuple = ()

    @property
    def models(self) -> SimpleNamespace:
        """As start_run reads a Models: appearance and clip, each with its name and dim (clip None when none)."""
        named = lambda pair: SimpleNamespace(name=pair[0], dim=pair[1]) if pair else None  # noqa: E731
        return SimpleNamespace(appearance=named(self.appearance), clip=named(self.clip))


class OnRay:
    """Ray connected as `cluster` says and the models its workers load checked (a context manager: a missing
    model is one line, before the index is opened); `index` then runs index_videos' work on it."""

    def __init__(self, cluster: Cluster, settings: Settings):
        self.cluster = cluster
        self.settings = settings
        self.worker_settings = _for_workers(settings, cluster.path_map)
        self._stack = ExitStack()

    def __enter__(self) -> "OnRay":
        with ExitStack() as stack:
            self.ray = stack.enter_context(connected(self.cluster))
            self.identity = _identity(self.ray, self.worker_settings)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)

    def index(self, paths: list[Path], store: IndexStore, summary: IndexSummary | None = None) -> Iterator[IndexEvent]:
        """forensic.index.pipeline.index_videos with the recordings described on Ray: the same events and summary."""
        ray, settings, identity = self.ray, self.settings, self.identity
        summary = summary if summary is not None else IndexSummary()
        started = time.perf_counter()
        describe = ray.remote(num_cpus=1, max_retries=0)(describe_on_worker)
        run = yield from start_run(paths, store, identity.models, settings, summary)
        # in flight: two per worker where Ray's CPUs are the limit (a local instance has --ray-workers CPUs, a cluster
        # its own); exactly --ray-workers on a cluster, where Ray would otherwise run as many as its CPUs allow
        if self.cluster.workers is not None and self.cluster.address != "local":
            window = self.cluster.workers
        else:
            window = IN_FLIGHT * (self.cluster.workers or max(1, int(ray.cluster_resources().get("CPU", 1))))
        kill = os.environ.get(KILL_SEAM) or None
        level = logging.getLogger("forensic").getEffectiveLevel()
        inflight: dict = {}  # task -> the Recording as the index names it
        for path in run.videos:
            if path in run.growing:
                yield run.pending(path, summary)
                continue
            recording = yield from check_recording(path, store, settings, summary, run.cameras, run.settle(path, settings))
            store.commit()
            if recording is None:
                continue
            inflight[describe.remote(_for_worker(recording, self.cluster.path_map), self.worker_settings, kill, level)] = recording
            while len(inflight) >= window:
                yield from _write_next(ray, inflight, store, settings, summary, identity)
        while inflight:
            yield from _write_next(ray, inflight, store, settings, summary, identity)
        summary.wall_seconds = time.perf_counter() - started


def index_on_ray(paths: list[Path], store: IndexStore, settings: Settings, cluster: Cluster,
                 summary: IndexSummary | None = None) -> Iterator[IndexEvent]:
    """OnRay(cluster, settings).index(...) in one call (Ray connected and stopped around it)."""
    with OnRay(cluster, settings) as on_ray:
        yield from on_ray.index(paths, store, summary)


def _identity(ray, settings: Settings) -> _Identity:
    """The models the workers load (checked once, on one of them): a missing model is one line (exit 2)."""
    try:
        return ray.get(ray.remote(num_cpus=1, max_retries=0)(worker_identity).remote(settings))
    except ray.exceptions.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, ForensicError):
            raise ForensicError(f"on a Ray worker: {cause}") from None
        raise ForensicError(f"a Ray worker could not load the models ({_first_line(cause or e)})") from None
    except ray.exceptions.RayError as e:
        raise ForensicError(f"a Ray worker could not load the models ({_ray_failure(ray, e)})") from None


def _for_workers(settings: Settings, path_map: PathMap) -> Settings:
    """The settings as a worker reads them: the models folder (and a CLIP checkpoint) where the workers see it."""
    return replace(settings, models=path_map.to_worker(settings.models) if settings.models else None,
                   clip_checkpoint=path_map.to_worker(settings.clip_checkpoint) if settings.clip_checkpoint else None)


def _for_worker(recording: Recording, path_map: PathMap) -> Recording:
    there = path_map.to_worker(recording.path)
    return replace(recording, path=there, info=replace(recording.info, path=there))


def _write_next(ray, inflight: dict, store: IndexStore, settings: Settings, summary: IndexSummary,
                identity: _Identity) -> Iterator[IndexEvent]:
    """Wait for the next recording to finish on its worker and write it into the index (or fail it)."""
    (task,), _ = ray.wait(list(inflight), num_returns=1)
    recording = inflight.pop(task)
    path = recording.path
    try:
        result = ray.get(task)
    except ray.exceptions.RayError as e:
        yield _fail(store, recording, settings, summary, f"{path}: failed on a Ray worker ({_ray_failure(ray, e)}); "
                                                         "the next run tries it again")
        return
    there = str(result["path"])
    here = lambda text: text.replace(there, str(path)) if isinstance(text, str) else text  # noqa: E731 - names as the index knows them
    for name, level, message in result["logs"]:
        logging.getLogger(name).log(level, "%s", here(message))
    if result.get("refused"):
        yield _fail(store, recording, settings, summary, f"{path}: {result['refused']}: give the workers the index machine's files "
                                                         "(shared storage, or --path-map WRITER=WORKER)")
        return
    if result["identity"] != identity:
        yield _fail(store, recording, settings, summary,
                    f"{path}: described on Ray node {result['node']} with other models or another forensic "
                    f"({_models_text(result['identity'])}; the index writer's workers: {_models_text(identity)}); "
                    "give every node the same models folder and forensic version, then index again")
        return
    yield IndexEvent("start", path, duration=recording.info.duration)
    reason = None
    with summary.timed("write"):
        try:
            replay(result["calls"], store, path)
            store.commit()
        except Exception as e:  # noqa: BLE001 - as a local run, a write that fails fails this file (a damaged database still stops the run)
            from forensic.index.store import database_damage

            if database_damage(store.root, e) is not None:
                raise
            log.debug("writing %s failed", path, exc_info=True)
            reason = f"{path}: failed writing it into the index ({type(e).__name__}: {e})"
            row = store.video_by_path(path)
            if row is not None and row["status"] == "indexing":
                store.fail_video(row["id"], reason)
    if reason is not None:
        summary.failed.append((path, reason))
        yield IndexEvent("failed", path, message=reason)
        return
    done: IndexSummary = result["summary"]
    summary.failed += [(path, here(reason)) for _, reason in done.failed]
    summary.indexed += [path for _ in done.indexed]
    for key in ("video_seconds", "detections", "frames_sampled", "frames_skipped"):
        setattr(summary, key, getattr(summary, key) + getattr(done, key))
    for stage, seconds in done.stage_seconds.items():
        summary.stage_seconds[stage] = summary.stage_seconds.get(stage, 0.0) + seconds
    for event in result["events"]:
        if event.kind != "progress":
            yield replace(event, path=path, message=here(event.message))


def _fail(store: IndexStore, recording: Recording, settings: Settings, summary: IndexSummary, reason: str) -> IndexEvent:
    """A recording that could not be described: one line, and a 'failed' row so that the next run indexes it."""
    camera = recording.camera
    try:
        video_id = store.begin_video(recording.path, camera.id, recording.info, settings.fps, recording.digest,
                                     recording.start.isoformat(), recording.source, None,
                                     recorded=(recording.recorded, camera.timezone, camera.clock_offset))
        store.fail_video(video_id, reason)
        store.commit()
    except OSError:  # the file went away meanwhile: no row, as when a local run cannot read it
        pass
    summary.failed.append((recording.path, reason))
    return IndexEvent("failed", recording.path, message=reason)


def _models_text(identity: _Identity) -> str:
    clip = f", {identity.clip[0]}" if identity.clip else ""
    parts = f" with {', '.join(identity.parts)}" if identity.parts else " without plates, pose or clock reader"
    return f"{identity.appearance[0]}{clip}{parts}, forensic {identity.version}"


def _ray_failure(ray, e: Exception) -> str:
    """Why a task failed, in a few words."""
    exceptions = ray.exceptions
    kinds = [("OutOfMemoryError", "out of memory: {}"), ("WorkerCrashedError", "worker died: killed or crashed"),
             ("NodeDiedError", "its node died: {}"), ("TaskCancelledError", "cancelled"), ("ObjectLostError", "its result was lost: {}")]
    for name, words in kinds:  # (Ray's own words point at log files of a session folder that is gone when the run ends)
        kind = getattr(exceptions, name, None)
        if kind is not None and isinstance(e, kind):
            return words.format(_first_line(e))
    if isinstance(e, exceptions.RayTaskError) and getattr(e, "cause", None) is not None:
        return f"{type(e.cause).__name__}: {_first_line(e.cause)}"
    return f"{type(e).__name__}: {_first_line(e)}"


def _first_line(e) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    text = lines[0] if lines else type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# -- the workers -----------------------------------------------------------------------------------------------
_MODELS: dict = {}  # settings -> Models, loaded once per worker process


def _models(settings: Settings):
    from forensic.models import build_models

    key = repr(settings)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = build_models(settings)
    return _MODELS[key]


def _identity_of(models) -> _Identity:
    from forensic import __version__

    clip = (models.clip.name, models.clip.dim) if models.clip is not None else None
    parts = tuple(name for name in ("plates", "pose", "clock") if getattr(models, name, None) is not None)
    return _Identity((models.appearance.name, models.appearance.dim), clip, __version__, parts)


def worker_identity(settings: Settings) -> _Identity:
    """Ray task: the models this worker loads with these settings."""
    return _identity_of(_models(settings))


class _Collect(logging.Handler):
    """Keeps a worker's forensic log records for the index writer, which logs them as its own."""

    def __init__(self, level: int):
        super().__init__(level)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record):
        self.records.append((record.name, record.levelno, record.getMessage()))


def describe_on_worker(recording: Recording, settings: Settings, kill: str | None = None, level: int = logging.WARNING) -> dict:
    """Ray task: describe one recording (at its worker path) into RecordedWrites; returns what the index writer
    needs to write it: the writes, the events and summary, the log records, which models made it and where."""
    if kill and recording.path.name == kill:  # the test seam: this worker dies, as a crash or the OOM killer kills it
        os.kill(os.getpid(), signal.SIGKILL)
    own = logging.getLogger("forensic")
    collect, before = _Collect(level), own.level
    own.addHandler(collect)
    own.setLevel(level)
    try:
        models = _models(settings)
        out = {"path": recording.path, "node": socket.gethostname(), "identity": _identity_of(models), "calls": [], "events": [],
               "summary": IndexSummary()}
        try:
            same = fingerprint(recording.path) == recording.digest
        except OSError as e:
            same, why = False, f"cannot be read there ({e.strerror or e})"
        else:
            why = "is not the same file there (its size, first or last MiB differ)"
        if not same:
            out["refused"] = f"as {recording.path} on Ray node {out['node']} it {why}"
            return out | {"logs": collect.records}
        writes = RecordedWrites()
        out["events"] = list(describe_recording(recording, writes, models, settings, out["summary"]))
        out["calls"] = writes.calls
        return out | {"logs": collect.records}
    finally:
        own.removeHandler(collect)
        own.setLevel(before)
