"""Indexing on Ray (forensic/index/cluster.py, docs/cluster.md): the options, the one line without Ray, and
(slow layer) a local Ray instance with two workers indexing real clips into the index a local run makes,
and a worker killed mid-run failing only its recording, which the next run indexes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from forensic.errors import ForensicError
from forensic.index.cluster import KILL_SEAM, Cluster, PathMap
from realdata import ACVIEW, TRUCCAT, error_lines, run_cli


# -- options -----------------------------------------------------------------------------------------------
def test_a_path_map_moves_the_longest_matching_folder():
    paths = PathMap.parse(["/mnt/nas=/srv/cctv", "/mnt/nas/cam9=/data/cam9/", "/mnt/usb/=/media/usb"])
    assert paths.to_worker(Path("/mnt/nas/cam1/a.mp4")) == Path("/srv/cctv/cam1/a.mp4")
    assert paths.to_worker(Path("/mnt/nas/cam9/b.mp4")) == Path("/data/cam9/b.mp4")  # the longer prefix wins
    assert paths.to_worker(Path("/mnt/usb/x/c.mp4")) == Path("/media/usb/x/c.mp4")  # trailing slashes do not matter
    assert paths.to_worker(Path("/mnt/nas")) == Path("/srv/cctv")
    assert paths.to_worker(Path("/mnt/nas2/d.mp4")) == Path("/mnt/nas2/d.mp4")  # folders, not text: nas2 is not nas
    assert paths.to_worker(Path("/home/e.mp4")) == Path("/home/e.mp4")  # under no prefix: the same path
    assert not PathMap.parse([]) and PathMap.parse([]).to_worker("/a/b") == Path("/a/b")


@pytest.mark.parametrize("value, says", [
    ("/mnt/nas", "WRITER=WORKER"), ("/mnt/nas=", "WRITER=WORKER"), ("=/srv", "WRITER=WORKER"), ("/a=/b=/c", "WRITER=WORKER"),
    ("nas=/srv/cctv", "absolute"), ("/mnt/nas=srv", "absolute"),
])
def test_a_bad_path_map_is_refused(value, says):
    with pytest.raises(ForensicError, match=says):
        PathMap.parse([value])


def test_a_folder_mapped_twice_is_refused():
    with pytest.raises(ForensicError, match="mapped twice"):
        PathMap.parse(["/mnt/nas=/srv/a", "/mnt/nas/=/srv/b"])


def test_a_cluster_needs_an_address_and_a_worker():
    with pytest.raises(ForensicError, match="address"):
        Cluster(" ")
    with pytest.raises(ForensicError, match="at least 1"):
        Cluster("local", 0)


@pytest.mark.parametrize("args, says", [
    (["--ray-workers", "2"], "go with --ray"), (["--path-map", "/a=/b"], "go with --ray"),
    (["--ray", "local", "--path-map", "/a"], "WRITER=WORKER"), (["--ray", "local", "--ray-workers", "0"], "at least 1"),
])
def test_cluster_options_without_sense_are_one_line(tmp_path, args, says):
    video = tmp_path / "a.mp4"
    video.write_bytes(b"0" * 64)
    result = run_cli("index", str(video), "--index", str(tmp_path / "idx"), *args)
    assert result.exit_code == 2 and len(error_lines(result)) == 1 and says in error_lines(result)[0]
    assert not (tmp_path / "idx").exists()


@pytest.mark.parametrize("address, says", [("nonsense", "HOST:PORT"), ("127.0.0.1:1", "no Ray cluster answers there")])
def test_a_cluster_address_where_no_ray_answers_is_one_line_at_once(tmp_path, address, says):
    pytest.importorskip("ray")
    video = tmp_path / "a.mp4"
    video.write_bytes(b"0" * 64)
    result = run_cli("index", str(video), "--index", str(tmp_path / "idx"), "--ray", address)  # Ray itself would wait for minutes
    assert result.exit_code == 2 and len(error_lines(result)) == 1 and says in error_lines(result)[0]
    assert not (tmp_path / "idx").exists()


def test_the_cluster_options_can_be_set_in_the_environment(tmp_path):
    video = tmp_path / "a.mp4"
    video.write_bytes(b"0" * 64)
    result = run_cli("index", str(video), "--index", str(tmp_path / "idx"), env={"FORENSIC_RAY_WORKERS": "2"})
    assert result.exit_code == 2 and "go with --ray" in error_lines(result)[0]
    result = run_cli("index", str(video), "--index", str(tmp_path / "idx"),
                     env={"FORENSIC_RAY": "local", "FORENSIC_PATH_MAP": "/mnt/nas=/srv/cctv /mnt/usb"})
    assert result.exit_code == 2 and "--path-map '/mnt/usb'" in error_lines(result)[0]  # separated by spaces; the second is refused


def test_without_ray_the_flag_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as where it is not installed
    video = tmp_path / "a.mp4"
    video.write_bytes(b"0" * 64)
    result = run_cli("index", str(video), "--index", str(tmp_path / "idx"), "--ray", "local")
    assert result.exit_code == 2
    (line,) = error_lines(result)
    assert "pip install 'forensic[cluster]'" in line and "Traceback" not in result.output
    assert not (tmp_path / "idx").exists()  # refused before the index was opened


def test_ray_is_not_loaded_by_a_local_run_or_by_importing_the_package():
    code = "import sys, forensic.api, forensic.index.pipeline, forensic.index.cluster; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == "False"


# -- on a local Ray instance (slow: real footage, the real detector) ------------------------------------------
SECONDS = 3  # of each clip: enough for tracks, plates and a photo match, short enough for two cores
CAMERAS = Path(__file__).resolve().parents[2] / "samples" / "cameras.toml"  # tanphu's on-screen clock is read on the workers
OPTIONS = ["--imgsz", "416", "--fps", "2", "--clip", "off", "--device", "cpu", "--batch", "4", "--settle", "0", "--cameras", str(CAMERAS)]
QUERIES = ["red motorbike", "white car", "xe máy", "người mặc áo trắng", "green taxi", "man in white shirt"]


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance with two workers for the module (the CLI's --ray local uses it: a Ray already
    running in the process is used as it is)."""
    pytest.importorskip("ray")
    from forensic.index.cluster import LocalRay

    with LocalRay(2) as local:
        yield local


@pytest.fixture(scope="module")
def clips(tmp_path_factory, footage) -> Path:
    """The first SECONDS of three real recordings (1080p with an on-screen clock, 720p, indoor), each in its camera's
    folder (stream copy)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg to cut the clips")
    folder = tmp_path_factory.mktemp("clips")
    for camera, name in (("tanphu", ACVIEW), ("truccat", TRUCCAT), ("office", "office_man_white_shirt.mp4")):
        (folder / camera).mkdir()
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(footage / name), "-t", str(SECONDS), "-c", "copy", "-an",
                        str(folder / camera / f"{camera}-{SECONDS}s.mp4")], check=True)
    return folder


def hits_of(index: Path, models_dir: Path, request) -> list[tuple]:
    from forensic.api import run_search
    from forensic.settings import Settings

    settings = Settings.from_env({}, index=index, models=models_dir, imgsz=416, clip="off", device="cpu")
    return [(Path(h.video).name, h.frame, tuple(h.bbox), h.cls, h.score, tuple(h.colors), (h.plate or {}).get("text"),
             h.track and (h.track["first_seen"], h.track["last_seen"], h.track["detections"]))
            for h in run_search(request, settings).hits]


def same_hits(a: list[tuple], b: list[tuple]) -> bool:
    """The same hits in the same order: video, frame, class, colours, plate and track alike; boxes and scores
    within float tolerance (a worker's detector runs on fewer threads, which sum in another order)."""
    return len(a) == len(b) and all(
        (x[0], x[1], x[3], *x[5:]) == (y[0], y[1], y[3], *y[5:]) and x[2] == pytest.approx(y[2], abs=0.01)
        and x[4] == pytest.approx(y[4], abs=1e-4) for x, y in zip(a, b))


@pytest.mark.slow
def test_two_ray_workers_make_the_index_a_local_run_makes(ray_instance, clips, models_dir, photos, tmp_path):
    from forensic.api import SearchRequest

    local, on_ray = tmp_path / "local", tmp_path / "ray"
    result = run_cli("index", str(clips), "--index", str(local), "--models", str(models_dir), *OPTIONS)
    assert result.exit_code == 0, result.output
    result = run_cli("index", str(clips), "--index", str(on_ray), "--models", str(models_dir), *OPTIONS, "--ray", "local",
                     "--ray-workers", "2")
    assert result.exit_code == 0, result.output
    assert "3 indexed, 0 skipped" in result.stderr
    requests = [SearchRequest(text=q, limit=30) for q in QUERIES] + [
        SearchRequest(text="person", per_frame=True, limit=60),
        SearchRequest(image=photos / "green_taxi.png", limit=20),
        SearchRequest(image=photos / "rider_red_jacket_blue_helmet.png", limit=20)]
    for request in requests:
        a, b = hits_of(local, models_dir, request), hits_of(on_ray, models_dir, request)
        assert a and same_hits(a, b), f"{request.title}:\n{a[:5]}\n{b[:5]}"
    # the same files, hashes and times (ids aside)
    from forensic.index.store import IndexStore

    keep = ("path", "status", "sha256", "sampled_sha256", "fingerprint", "start_time", "time_source", "t_base", "frames")
    with IndexStore(local) as a, IndexStore(on_ray) as b:
        assert sorted(tuple(r[k] for k in keep) for r in a.videos()) == sorted(tuple(r[k] for k in keep) for r in b.videos())
        assert {Path(r["path"]).parent.name: r["time_source"] for r in b.videos()}["tanphu"] == "osd"  # the clock, read on a worker
        assert a.stats()["detections"] == b.stats()["detections"] > 100
    # a second run skips them all, as a local one does
    again = run_cli("index", str(clips), "--index", str(on_ray), "--models", str(models_dir), *OPTIONS, "--ray", "local")
    assert again.exit_code == 0 and "0 indexed, 3 skipped" in again.stderr


@pytest.mark.slow
def test_a_killed_worker_fails_its_recording_alone_and_the_next_run_indexes_it(ray_instance, clips, models_dir, tmp_path, monkeypatch):
    from forensic.index.store import IndexStore

    index = tmp_path / "idx"
    killed = clips / "truccat" / f"truccat-{SECONDS}s.mp4"
    monkeypatch.setenv(KILL_SEAM, killed.name)
    args = ("index", str(clips), "--index", str(index), "--models", str(models_dir), *OPTIONS, "--ray", "local", "--ray-workers", "2")
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    failed = [line for line in result.stderr.splitlines() if "failed on a Ray worker" in line]
    assert failed and all(killed.name in line and "worker died" in line for line in failed)
    assert "A worker died" not in result.output and "\x1b" not in result.output  # Ray's own paragraph (in colour) is not printed
    assert "2 indexed, 0 skipped, 0 still being written (left for the next run), 1 failed" in result.stderr
    with IndexStore(index) as store:
        rows = {Path(r["path"]).name: r for r in store.videos(None)}
    assert rows[killed.name]["status"] == "failed" and "failed on a Ray worker" in rows[killed.name]["error"]
    assert {name: r["status"] for name, r in rows.items() if name != killed.name} == {f"tanphu-{SECONDS}s.mp4": "done",
                                                                                    f"office-{SECONDS}s.mp4": "done"}
    monkeypatch.delenv(KILL_SEAM)
    rerun = run_cli(*args)
    assert rerun.exit_code == 0, rerun.output
    assert "1 indexed, 2 skipped" in rerun.stderr
    with IndexStore(index) as store:
        row = store.video_by_path(killed)
        assert row["status"] == "done" and row["sha256"] and store.stats()["detections"] > 100


@pytest.mark.slow
def test_a_local_instance_keeps_to_the_loopback_and_a_private_folder(ray_instance):
    psutil = pytest.importorskip("psutil")
    folder = Path(ray_instance.folder)
    assert folder.stat().st_mode & 0o777 == 0o700  # Ray's own folders inside are world-writable: this one closes them
    ours = [p for p in psutil.Process().children(recursive=True)]
    names = " ".join(" ".join(p.cmdline()) for p in ours)
    assert "gcs_server" in names and "raylet" in names
    assert "dashboard/dashboard.py" not in names  # no web server (whose usage module asks cloud metadata addresses)
    listening = [c.laddr for p in ours for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip in ("127.0.0.1", "::ffff:127.0.0.1", "::1") for addr in listening), listening
    assert os.environ.get("RAY_USAGE_STATS_ENABLED") == "0" and os.environ.get("RAY_AUTH_MODE") == "token"


def test_session_folders_of_killed_runs_are_removed(tmp_path):
    from forensic.index.cluster import _remove_stale

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid is now free: the folder of a run that was killed
    stale, alive, other = (tmp_path / f"forensic-ray-{gone.pid}-x1", tmp_path / f"forensic-ray-{os.getppid()}-x2",
                           tmp_path / "forensic-ray-notapid-x3")
    for folder in (stale, alive, other):
        (folder / "r").mkdir(parents=True)
    from forensic.index.cluster import SESSION_ENV

    def leftover(session: Path, log: Path | None = None) -> subprocess.Popen:  # as Ray's agents outlive a killed driver
        return subprocess.Popen([sys.executable, "-c", f"import time; f = open({str(log)!r}, 'w') if {str(log)!r} != 'None' else 0; "
                                 "print('ready', flush=True); time.sleep(60)"],
                                env=dict(os.environ, **{SESSION_ENV: str(session)}), stdout=subprocess.PIPE, text=True)

    orphans = [leftover(stale), leftover(tmp_path, stale / "r" / "agent.log")]  # names the folder; holds a log in it open
    others = [leftover(alive), leftover(tmp_path, alive / "r" / "agent.log")]  # a running instance's
    try:
        assert all(p.stdout.readline().strip() == "ready" for p in orphans + others)
        _remove_stale(tmp_path)
        assert not stale.exists() and alive.exists() and other.exists()
        assert [p.wait(timeout=10) for p in orphans] == [-9, -9]  # the killed run's processes are stopped, no other
        assert all(p.poll() is None for p in others)
    finally:
        for p in orphans + others:
            p.kill()
            p.wait()


@pytest.mark.slow
def test_workers_find_the_files_through_the_path_map_and_refuse_another_file(ray_instance, clips, models_dir, tmp_path):
    from forensic.index.store import IndexStore

    here, there = tmp_path / "nas", tmp_path / "srv"  # the index machine's mount and the workers'
    (here / "office").mkdir(parents=True)
    (there / "office").mkdir(parents=True)
    clip = clips / "office" / f"office-{SECONDS}s.mp4"
    shutil.copy(clip, here / "office" / "a.mp4")
    shutil.copy(clip, there / "office" / "a.mp4")  # the same recording, seen by the workers elsewhere
    shutil.copy(clip, here / "office" / "b.mp4")
    shutil.copy(clips / "truccat" / f"truccat-{SECONDS}s.mp4", there / "office" / "b.mp4")  # not the same file there
    index = tmp_path / "idx"
    result = run_cli("index", str(here), "--index", str(index), "--models", str(models_dir), *OPTIONS, "--ray", "local",
                     "--path-map", f"{here}={there}")
    assert result.exit_code == 1, result.output
    (line,) = [line for line in result.stderr.splitlines() if "failed:" in line and "b.mp4" in line][:1]
    assert f"{here / 'office' / 'b.mp4'}: as {there / 'office' / 'b.mp4'} on Ray node" in line and "--path-map" in line
    with IndexStore(index) as store:
        rows = {r["path"]: r["status"] for r in store.videos(None)}
    assert rows == {str(here / "office" / "a.mp4"): "done", str(here / "office" / "b.mp4"): "failed"}  # the index machine's paths


@pytest.mark.slow
def test_a_local_instance_writes_nothing_into_the_home_folder_and_leaves_nothing_behind(tmp_path):
    pytest.importorskip("ray")
    home, temp = tmp_path / "home", Path(tempfile.mkdtemp(prefix="frt", dir="/tmp"))  # short: Ray's socket paths hold 107 bytes
    home.mkdir()
    code = ("from forensic.index.cluster import LocalRay\n"
            "with LocalRay(1) as local:\n"
            "    import ray; assert ray.get(ray.remote(lambda: 1).remote()) == 1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "FORENSIC_"))} | {"HOME": str(home), "TMPDIR": str(temp)}
    try:
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).parents[2], timeout=300)
        assert not list(home.rglob("*"))  # no ~/.ray/auth_token (the token lives in the environment), nothing else
        assert not list(temp.iterdir())  # its session folder is gone
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def test_a_long_temporary_folder_gives_way_to_tmp(monkeypatch, tmp_path):
    from forensic.index.cluster import _private_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / ("x" * 60)))
    folder = Path(_private_folder())
    try:
        assert folder.parent == Path("/tmp") and folder.stat().st_mode & 0o777 == 0o700
    finally:
        folder.rmdir()
