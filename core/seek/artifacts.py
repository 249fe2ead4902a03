"""Model artifacts: every model file a run writes, recorded by kind and role, loaded by one loader.

An app writes its models through ``ctx.artifacts`` (an :class:`ArtifactWriter`)::

    ctx.artifacts.save_seek_model("sequence", model)               # model/ : safetensors + model.json
    ctx.artifacts.save_lightgbm("lightgbm", booster)               # lightgbm.txt
    ctx.artifacts.save_module("detector", net, builder="seek_medical.model:build", config={...})
    ctx.artifacts.record("scaler", "json", "scaler.json")          # any other file it wrote itself

Each call writes atomically into the run folder and adds an entry to ``artifacts.json``
(role -> kind, path, files, meta). Sealing copies that index into ``manifest.json`` beside the files'
sha256. Compression, serving and monitoring never use app code to find a model::

    run = load_run(run_dir)                    # every file hashed once, here
    model = load_artifact(run, "sequence")     # a SeekTransformer in eval mode
    for art in artifacts(run).values(): ...    # kind, role, files

Kinds: ``seek-transformer`` (safetensors + JSON config), ``torch-module`` (safetensors + JSON config +
an importable ``module:function`` builder from an installed package), ``lightgbm`` (LightGBM's text
model), ``torchscript`` (a traced module), ``onnx``, and data kinds ``json`` / ``safetensors`` /
``parquet`` loaded as plain data. No kind is ever unpickled.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from seek.errors import IntegrityError, RunError

if TYPE_CHECKING:
    from seek.runs import RunFolder, VerifiedRun

INDEX = "artifacts.json"
Kind = Literal["seek-transformer", "torch-module", "lightgbm", "torchscript", "onnx", "json", "safetensors", "parquet"]
MODEL_KINDS: tuple[str, ...] = ("seek-transformer", "torch-module", "lightgbm", "torchscript", "onnx")
KINDS: tuple[str, ...] = (*MODEL_KINDS, "json", "safetensors", "parquet")


@dataclass(frozen=True)
class ArtifactSpec:
    """What an App declares it writes: a role (``"sequence"``), its kind and one line saying what it is."""

    role: str
    kind: Kind
    description: str = ""
    required: bool = True


@dataclass(frozen=True)
class Artifact:
    """One recorded artifact: role, kind, path (file or folder, relative to the run), its files and metadata."""

    role: str
    kind: str
    path: str
    files: tuple[str, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON form for artifacts.json."""
        data = asdict(self)
        data["files"] = list(self.files)
        data["meta"] = dict(self.meta)
        return data


class ArtifactWriter:
    """Writes model files into a run folder and keeps ``artifacts.json`` up to date (atomically)."""

    def __init__(self, run: RunFolder) -> None:
        self.run = run
        index = run.path / INDEX
        self._records: dict[str, Artifact] = {}
        if index.is_file():  # a resumed run keeps what it had already written
            for role, data in json.loads(index.read_text()).items():
                self._records[role] = _artifact(role, data, index)

    @property
    def records(self) -> dict[str, Artifact]:
        """Role -> artifact, as recorded so far."""
        return dict(self._records)

    def record(
        self,
        role: str,
        kind: Kind,
        path: str,
        files: tuple[str, ...] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Artifact:
        """Record files the app wrote itself under ``path`` (a file, or a folder with ``files`` inside)."""
        if kind not in KINDS:
            raise ValueError(f"artifact {role!r}: unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
        self.run.file(path)  # refuses a path outside the run folder
        listed = files if files is not None else (path,)
        for name in listed:
            if not (self.run.path / name).is_file():
                raise RunError(f"artifact {role!r}: {name} was not written")
        artifact = Artifact(role=role, kind=kind, path=path, files=tuple(listed), meta=dict(meta or {}))
        self._records[role] = artifact
        self.run.write_json(INDEX, {r: a.to_json() for r, a in sorted(self._records.items())})
        return artifact

    def save_seek_model(
        self, role: str, model: Any, path: str = "model", meta: Mapping[str, Any] | None = None
    ) -> Artifact:
        """Save a :class:`seek.models.SeekTransformer` (safetensors + model.json) under ``path``."""
        from seek.models.transformer import CONFIG_FILE, WEIGHTS_FILE

        model.save(self.run.file(f"{path}/{WEIGHTS_FILE}").parent)
        return self.record(role, "seek-transformer", path, (f"{path}/{WEIGHTS_FILE}", f"{path}/{CONFIG_FILE}"), meta)

    def save_module(
        self,
        role: str,
        module: Any,
        builder: str,
        config: Mapping[str, Any],
        path: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Artifact:
        """Save any torch module as safetensors + JSON; ``builder`` ("pkg.mod:fn") rebuilds it from ``config``."""
        from safetensors.torch import save_file

        _builder(builder)  # fails now, not at load time, if it does not import
        folder = path or role
        state = {name: t.detach().contiguous().cpu() for name, t in module.state_dict().items()}
        with self.run.writing(f"{folder}/weights.safetensors") as tmp:
            save_file(state, str(tmp))
        self.run.write_json(f"{folder}/module.json", {"builder": builder, "config": dict(config)})
        files = (f"{folder}/weights.safetensors", f"{folder}/module.json")
        return self.record(role, "torch-module", folder, files, meta)

    def save_lightgbm(
        self, role: str, booster: Any, path: str = "lightgbm.txt", meta: Mapping[str, Any] | None = None
    ) -> Artifact:
        """Save a LightGBM booster as its text model."""
        self.run.write_text(path, booster.model_to_string())
        return self.record(role, "lightgbm", path, None, meta)

    def save_onnx(self, role: str, model_bytes: bytes, path: str, meta: Mapping[str, Any] | None = None) -> Artifact:
        """Save a serialised ONNX model."""
        self.run.write_bytes(path, model_bytes)
        return self.record(role, "onnx", path, None, meta)


def artifacts(run: VerifiedRun) -> dict[str, Artifact]:
    """Role -> artifact of a verified run (from the sealed manifest; empty for a run without models)."""
    entries = run.manifest.get("artifacts")
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        raise IntegrityError(f"{run.path}/manifest.json: 'artifacts' is not a table")
    found = {role: _artifact(role, data, run.path / "manifest.json") for role, data in entries.items()}
    for art in found.values():
        for name in art.files:
            if name not in run.files:
                raise IntegrityError(f"{run.path}: artifact {art.role!r} file {name} is not in the manifest")
    return found


def load_artifact(run: VerifiedRun, role: str, device: str = "cpu", **options: Any) -> Any:
    """Load the artifact ``role`` of a verified run: a model object for model kinds, data for data kinds."""
    known = artifacts(run)
    if role not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise RunError(f"{run.path}: no artifact with role {role!r} (artifacts: {listed})")
    art = known[role]
    paths = [run.file(name) for name in art.files]  # hashed when the run was opened; checked unchanged here
    if art.kind == "seek-transformer":
        from seek.models import SeekTransformer

        return SeekTransformer.load(paths[0].parent, device=device)
    if art.kind == "torch-module":
        return _load_module(run, art, device)
    if art.kind == "lightgbm":
        import lightgbm as lgb

        return lgb.Booster(model_str=paths[0].read_text())
    if art.kind == "torchscript":
        import torch

        return torch.jit.load(str(paths[0]), map_location=device).eval()  # type: ignore[no-untyped-call]
    if art.kind == "onnx":
        import onnxruntime as ort

        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = int(options.get("threads", 1))
        session_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(paths[0]), session_options, providers=["CPUExecutionProvider"])
    if art.kind == "json":
        return json.loads(paths[0].read_text())
    if art.kind == "safetensors":
        from safetensors.torch import load_file

        return load_file(str(paths[0]), device=device)
    if art.kind == "parquet":
        import polars as pl

        return pl.read_parquet(paths[0])
    raise IntegrityError(f"{run.path}: artifact {role!r} has unknown kind {art.kind!r}")


def _load_module(run: VerifiedRun, art: Artifact, device: str) -> Any:
    from safetensors.torch import load_file

    spec = run.read_json(f"{art.path}/module.json")
    model = _builder(spec["builder"])(**spec["config"])
    state = load_file(str(run.file(f"{art.path}/weights.safetensors")), device="cpu")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise IntegrityError(
            f"{run.path}/{art.path}: weights do not fit {spec['builder']} "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    return model.to(device).eval()


def _builder(dotted: str) -> Any:
    module_name, sep, attr = dotted.partition(":")
    if not sep:
        raise RunError(f"artifact builder {dotted!r}: expected 'package.module:function'")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise RunError(f"artifact builder {dotted!r} cannot be imported ({exc}); is its plugin installed?") from None


def _artifact(role: str, data: Any, where: Path) -> Artifact:
    try:
        files = tuple(str(name) for name in data["files"])
        kind, path = str(data["kind"]), str(data["path"])
    except (TypeError, KeyError) as exc:
        raise IntegrityError(f"{where}: artifact {role!r} entry is malformed ({exc})") from None
    if kind not in KINDS:
        raise IntegrityError(f"{where}: artifact {role!r} has unknown kind {kind!r}")
    for name in (path, *files):
        if name.startswith("/") or ".." in Path(name).parts:
            raise IntegrityError(f"{where}: artifact {role!r} path {name!r} leaves the run folder")
    return Artifact(role=role, kind=kind, path=path, files=files, meta=dict(data.get("meta") or {}))
