"""One settings object, read from FORENSIC_* environment variables and overridden by CLI options."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from forensic.errors import ForensicError

ENV_PREFIX = "FORENSIC_"


@dataclass(frozen=True)
class Settings:
    index: Path = Path("forensic-index")
    models: Path | None = None  # offline models folder, checked before any download
    download: bool = False  # allow model downloads (off: every run stays offline)
    detector: str = "yolo11n.pt"
    device: str = "auto"  # auto | cpu | cuda | cuda:0 ...
    backend: str = "auto"  # detector backend: auto (OpenVINO on a CPU when installed and exported) | torch | openvino
    fps: float = 2.0  # sampled frames per second (the tracker bridges the gaps: see forensic/index/tracking.py)
    conf: float = 0.3  # detector confidence threshold
    imgsz: int = 640  # detector input size (longest side)
    batch: int = 4  # frames per detector batch
    keyframes: bool = False  # decode keyframes only (fast mode for long-GOP recordings; needs PyAV)
    min_motion: float = 0.0005  # share of the picture that must change for a frame to be detected (0: every frame)
    max_skip: float = 4.0  # seconds: a frame is detected at least this often, motion or not
    settle: float = 120.0  # seconds: an incomplete file in a scanned folder modified more recently is left for the next run (0: none held back)
    cameras: Path | None = None  # cameras TOML file (default: cameras.toml in the index folder)
    pose: bool = True  # clothing colours of each person track's best view from pose keypoints (when the weights are found)
    clip: str = "auto"  # auto (use when weights are found) | on (required) | off
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "laion2b_s34b_b79k"
    clip_checkpoint: Path | None = None  # local open_clip checkpoint file (offline)
    plates: bool = True  # read licence plates at index time (when the reader is installed and its weights found)
    replace_changed: bool = False  # index: re-index a recording whose content changed since it was indexed (else refused)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "Settings":
        """Defaults, then FORENSIC_<NAME> variables, then explicit overrides (None means unset)."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw not in (None, ""):
                values[f.name] = _convert(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("index", "models", "clip_checkpoint", "cameras"):
            if values.get(key) is not None:
                values[key] = Path(values[key]).expanduser()
        settings = cls(**values)
        settings.validate()
        return settings

    def with_(self, **changes) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def validate(self) -> None:
        if not 0 < self.fps <= 60:  # also refuses NaN
            raise ForensicError(f"--fps must be between 0 and 60, got {self.fps}")
        if not 0 < self.conf < 1:
            raise ForensicError(f"--conf must be between 0 and 1, got {self.conf}")
        if self.imgsz < 64 or self.imgsz % 32:
            raise ForensicError(f"--imgsz must be a multiple of 32 and at least 64, got {self.imgsz}")
        if self.backend not in ("auto", "torch", "openvino"):
            raise ForensicError(f"--backend must be auto, torch or openvino, got {self.backend!r}")
        if self.clip not in ("auto", "on", "off"):
            raise ForensicError(f"clip must be auto, on or off, got {self.clip!r}")
        if not 0 <= self.min_motion < 1:
            raise ForensicError(f"--min-motion must be between 0 and 1, got {self.min_motion}")
        if not self.max_skip > 0:
            raise ForensicError(f"--max-skip must be positive, got {self.max_skip}")
        if self.batch < 1:
            raise ForensicError(f"batch must be at least 1, got {self.batch}")


_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _convert(name: str, raw: str):
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "float":
            return float(raw)
        if kind == "int":
            return int(raw)
        if kind == "bool":
            return _BOOL[raw.strip().lower()]
    except (ValueError, KeyError):
        raise ForensicError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw
