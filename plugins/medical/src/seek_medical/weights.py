"""The detector weights shipped inside the package (trained on an H200, see the plugin README), hash-checked."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

from seek.errors import IntegrityError, RunError

WEIGHTS = "detector.safetensors"
CARD = "detector.json"


def shipped_card() -> dict[str, Any]:
    """The shipped model card: builder, config, detection settings, sha256, training record."""
    folder = resources.files("seek_medical") / "weights"
    card = folder / CARD
    if not card.is_file():
        raise RunError("seek-medical ships no detector weights in this installation; pass --model RUN_DIR")
    return dict(json.loads(card.read_text()))


def load_shipped(device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """The shipped detector in eval mode and its card; a weights file whose sha256 differs is refused."""
    from safetensors.torch import load

    from seek_medical.model import build

    card = shipped_card()
    data = (resources.files("seek_medical") / "weights" / WEIGHTS).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != card["sha256"]:
        raise IntegrityError(f"seek_medical/weights/{WEIGHTS}: sha256 {digest[:12]}... does not match its card")
    model = build(**card["config"])
    model.load_state_dict(load(data))
    return model.to(device).eval(), card
