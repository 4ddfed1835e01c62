"""CLIP image and text embeddings through open_clip.

Weights come from a local checkpoint file (offline: --clip-checkpoint, or <models>/clip/) or, when
downloads are allowed, from open_clip's named pretrained tag. A custom architecture can be given
as <models>/clip/<model>.json (an open_clip model config).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from forensic.errors import ModelUnavailable
from forensic.files import fingerprint
from forensic.models.base import LazyModel, configure_offline, pick_device

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
MULTILINGUAL_HINTS = ("xlm", "mt5", "multilingual", "roberta")


class ClipEmbedder(LazyModel):
    def __init__(self, model_name: str = "ViT-B-32", pretrained: str = "laion2b_s34b_b79k", checkpoint: Path | None = None,
                 models_dir: Path | None = None, allow_download: bool = False, device: str = "auto", batch: int = 32):
        super().__init__()
        self.model_name = model_name
        self.pretrained = pretrained
        self.models_dir = models_dir
        self.allow_download = allow_download
        self.device_setting = device
        self.batch = batch
        self.config = self._find(".json")
        if checkpoint is not None and not Path(checkpoint).is_file():
            raise ModelUnavailable(f"CLIP checkpoint {checkpoint} not found")
        self.checkpoint = Path(checkpoint) if checkpoint else self._find_checkpoint()
        if self.checkpoint is not None:
            self.name = f"clip/{model_name}/{self.checkpoint.name}:{fingerprint(self.checkpoint)[:12]}"
        else:
            self.name = f"clip/{model_name}/{pretrained}"

    @property
    def multilingual(self) -> bool:
        return any(h in self.model_name.lower() for h in MULTILINGUAL_HINTS)

    def _folders(self) -> list[Path]:
        return [p for p in (self.models_dir and self.models_dir / "clip", self.models_dir) if p and p.is_dir()]

    def _find(self, suffix: str) -> Path | None:
        for folder in self._folders():
            if (folder / f"{self.model_name}{suffix}").is_file():
                return folder / f"{self.model_name}{suffix}"
        return None

    def _find_checkpoint(self) -> Path | None:
        for folder in self._folders():
            for stem in (f"{self.model_name}-{self.pretrained}", self.model_name):
                for suffix in CHECKPOINT_SUFFIXES:
                    if (folder / f"{stem}{suffix}").is_file():
                        return folder / f"{stem}{suffix}"
        return None

    @property
    def available(self) -> bool:
        """Weights can be had without asking the network, or downloads are allowed."""
        return self.checkpoint is not None or self.allow_download

    def describe_missing(self) -> str:
        where = f"{self.models_dir}/clip/" if self.models_dir else "<models>/clip/"
        return (f"no CLIP weights for {self.model_name}: put {self.model_name}-{self.pretrained}.safetensors (or .pt) in {where}, "
                f"pass --clip-checkpoint FILE, or run with --download")

    def _load(self):
        if not self.available:
            raise ModelUnavailable(self.describe_missing())
        configure_offline(self.allow_download)
        import open_clip

        if self.config is not None:
            open_clip.add_model_config(self.config)
        self.device = pick_device(self.device_setting)
        pretrained = str(self.checkpoint) if self.checkpoint else self.pretrained
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(self.model_name, pretrained=pretrained, device=self.device)
            self.tokenizer = open_clip.get_tokenizer(self.model_name)
        except Exception as e:
            raise ModelUnavailable(f"cannot load CLIP {self.model_name} ({pretrained}): {e}") from None
        model.eval()
        self.preprocess = preprocess
        import torch

        self._torch = torch
        return model

    @property
    def dim(self) -> int:
        model = self.model
        proj = getattr(model, "text_projection", None)
        if proj is not None and hasattr(proj, "shape"):
            return int(proj.shape[1])
        return int(self.embed_text(["a"]).shape[1])

    def embed_images(self, crops: list[np.ndarray]) -> np.ndarray:
        """BGR crops -> (N, D) unit vectors."""
        from PIL import Image

        model = self.model
        torch = self._torch
        out = []
        for i in range(0, len(crops), self.batch):
            batch = torch.stack([self.preprocess(Image.fromarray(np.ascontiguousarray(c[..., ::-1]))) for c in crops[i:i + self.batch]])
            with torch.inference_mode():
                out.append(torch.nn.functional.normalize(model.encode_image(batch.to(self.device)).float(), dim=-1).cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)

    def embed_text(self, texts: list[str]) -> np.ndarray:
        model = self.model
        torch = self._torch
        with torch.inference_mode():
            vec = model.encode_text(self.tokenizer(texts).to(self.device)).float()
        return torch.nn.functional.normalize(vec, dim=-1).cpu().numpy().astype(np.float32)
