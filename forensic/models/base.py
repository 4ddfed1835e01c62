"""What every model shares: lazy loading, device choice, and weights found offline first.

Nothing here downloads unless the user asked for it (`--download`): third-party libraries are
put into offline mode before they are imported.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from forensic.errors import ModelUnavailable
from forensic.offline import no_telemetry

log = logging.getLogger(__name__)

USER_MODELS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "forensic" / "models"


def configure_offline(allow_download: bool) -> None:
    """Keep ultralytics, Hugging Face and torch hub from touching the network unless allowed.

    Must run before ultralytics is imported (it reads these variables at import time).
    """
    no_telemetry()  # again, in case a host program changed the environment since forensic was imported
    os.environ["YOLO_AUTOINSTALL"] = "false"  # never pip-install missing extras on the fly
    os.environ.setdefault("YOLO_VERBOSE", "false")
    if not allow_download:
        os.environ["YOLO_OFFLINE"] = "1"  # no hub checks, no font or asset downloads
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"


def pick_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise ModelUnavailable(f"device {setting!r} asked for, but no CUDA GPU is available (use --device cpu)")
    return setting


def compile_openvino(net, size: int, what: str):
    """A fused Ultralytics network compiled by OpenVINO (when installed) for batches of size x size
    images, converted in memory (a second or a few, once per run; nothing is written): on a CPU several
    times faster than PyTorch for small batches. Its output is the prediction tensor only. None (the
    caller keeps PyTorch) when OpenVINO is missing or the conversion fails."""
    import importlib.util

    if importlib.util.find_spec("openvino") is None:
        return None
    try:
        import warnings

        import openvino as ov
        import torch

        class Head(torch.nn.Module):  # the prediction tensor only (Ultralytics also returns the raw maps)
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                y = self.inner(x)
                return y[0] if isinstance(y, (tuple, list)) else y

        example = torch.zeros(2, 3, size, size)
        head = Head(net.to("cpu").float().eval()).eval()
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            head(example)  # anchors for this size, before tracing
            traced = torch.jit.trace(head, example, check_trace=False)
        model = ov.convert_model(traced, example_input=example, input=[(-1, 3, size, size)])
        return ov.Core().compile_model(model, "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
    except Exception as e:  # noqa: BLE001 - any failure leaves PyTorch in charge
        log.warning("%s: OpenVINO conversion failed (%s); using PyTorch", what, e)
        return None


def find_model_file(name: str, models_dir: Path | None) -> Path | None:
    """A weights file by path, or by name in the offline models folder, or in the user cache."""
    candidate = Path(name).expanduser()
    if candidate.is_absolute() or len(candidate.parts) > 1:
        return candidate if candidate.exists() else None
    for folder in (models_dir, USER_MODELS):
        if folder is not None and (folder / name).exists():
            return folder / name
    return None


class LazyModel:
    """Loads its weights on first use, so commands that never need a model never pay for one."""

    name: str = "model"

    def __init__(self) -> None:
        self._model = None

    @property
    def model(self):
        if self._model is None:
            log.debug("loading %s", self.name)
            self._model = self._load()
        return self._model

    def _load(self):  # pragma: no cover - abstract
        raise NotImplementedError
