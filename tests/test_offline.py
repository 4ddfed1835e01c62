"""No network, no telemetry (issue 11, item 7): `forensic index` and `forensic search` (text and photo),
on the default CPU backend, never open a network socket nor resolve a host name, and leave no
telemetry client id in the user's home.

They run in a fresh Python process (an in-process run would miss what happens when a dependency is
first imported) with a sitecustomize that records, and refuses, every network connect, send or name
lookup, in that process and in any process it forks (OpenVINO's telemetry sends from a forked one).
The variables by which CI machines switch some telemetry off are removed, so the test can fail there too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from realdata import REPO, TRUCCAT

SITECUSTOMIZE = r'''
import os, socket

_LOG = os.environ["NET_ATTEMPTS_LOG"]


def _record(what, detail):
    with open(_LOG, "a") as f:
        f.write(f"{os.getpid()} {what} {detail!r}\n")
    raise OSError(101, "network is off in this test")


def _guard(name):
    original = getattr(socket.socket, name)

    def guarded(self, *args, **kwargs):
        if self.family != socket.AF_UNIX:
            _record(name, args[:1])
        return original(self, *args, **kwargs)

    setattr(socket.socket, name, guarded)


for _name in ("connect", "connect_ex", "sendto", "sendmsg"):
    _guard(_name)
socket.create_connection = lambda address, *a, **k: _record("create_connection", address)
socket.getaddrinfo = lambda host, *a, **k: _record("getaddrinfo", host)
socket.gethostbyname = lambda host: _record("gethostbyname", host)
'''

TELEMETRY_SWITCHES = ("CI", "TF_BUILD", "JENKINS_URL", "YOLO_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "HF_HUB_OFFLINE",
                      "DO_NOT_TRACK", "TRANSFORMERS_OFFLINE")


def openvino_export(models_dir: Path) -> Path | None:
    return next((p for p in sorted(models_dir.glob("yolo11n*_openvino_model")) if any(p.glob("*.xml"))), None)


@pytest.mark.slow
def test_index_and_search_open_no_network_socket(tmp_path, footage, photos, models_dir):
    pytest.importorskip("openvino", reason="the default CPU backend is OpenVINO (pip install openvino)")
    if openvino_export(models_dir) is None:
        pytest.skip(f"needs an OpenVINO export of yolo11n in {models_dir}")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    home = tmp_path / "home"
    home.mkdir()
    attempts = tmp_path / "attempts.log"
    (tmp_path / "cam1").mkdir()
    (tmp_path / "cam1" / "a.mp4").symlink_to((footage / TRUCCAT).resolve())
    photo = next(p for p in sorted(photos.iterdir()) if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_SWITCHES and not k.startswith("FORENSIC_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
               NET_ATTEMPTS_LOG=str(attempts), PYTHONPATH=os.pathsep.join([str(hooks), str(REPO)]),
               FORENSIC_INDEX=str(tmp_path / "idx"), FORENSIC_MODELS=str(models_dir))
    cpu = ["--device", "cpu", "--backend", "openvino"]  # what auto picks on a CPU, named so the test cannot drift
    runs = [["index", "--fps", "1", *cpu, str(tmp_path / "cam1" / "a.mp4")],
            ["search", "white car"],
            ["search", "--image", str(photo), *cpu]]
    for args in runs:
        done = subprocess.run([sys.executable, "-c", "import sys; from forensic.cli import main; sys.argv[0] = 'forensic'; main()",
                               *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{args}: {done.stderr}"
    assert not attempts.exists(), "network attempts:\n" + attempts.read_text()
    assert not (home / "intel").exists(), "OpenVINO telemetry wrote its client id into the home folder"
