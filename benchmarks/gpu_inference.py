"""GPU inference of the large Seek preset: tokens/s at batch 1 and 32, bf16 vs torchao int8 weight-only and float8.

One device call (issue 13, item 7). Every variant starts from the same seeded weights; each is timed
eager and then with regional ``torch.compile`` (every transformer block compiled once, dynamic batch),
while the time budget lasts. The quantized variants' logits are compared with bf16's on one fixed batch.
torchao comes from the device's Python if it has it, else from ``build/torchao_site`` carried with the
tree (a copy of this machine's torchao 0.18 package); which one, or why neither, is recorded.

    python benchmarks/gpu_inference.py --out $OUT                 # on the H200 (about 100 s)
    python benchmarks/gpu_inference.py --smoke --out /tmp/gi      # CPU, tiny preset, seconds
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
VOCAB = 32_000


def _import_seek() -> None:
    """Make ``seek.models`` importable with only torch (pydantic from the carried folder if missing)."""
    sys.path.insert(0, str(CORE))
    sys.path.append(str(ROOT / "build" / "torchao_site"))  # last: the device's own packages win
    try:
        import seek  # noqa: F401
    except ImportError:
        package = types.ModuleType("seek")
        package.__path__ = [str(CORE / "seek")]
        sys.modules["seek"] = package


def _torchao() -> dict[str, Any]:
    """Import torchao, from the device first, then from the carried copy; say which and what failed."""
    try:
        import torchao

        return {"source": "device", "version": torchao.__version__}
    except ImportError as exc:
        first = f"{type(exc).__name__}: {exc}"
    carried = ROOT / "build" / "torchao_site"
    sys.path.insert(0, str(carried))
    try:
        import torchao

        return {"source": f"carried ({carried.relative_to(ROOT)})", "version": torchao.__version__, "device": first}
    except Exception as exc:  # noqa: BLE001 - any failure of the carried copy is recorded, the bf16 rows still run
        return {"source": None, "device": first, "carried": f"{type(exc).__name__}: {exc}"}


def _quantize(model: Any, variant: str) -> None:
    from torchao.quantization import quantize_

    if variant == "int8-weight-only":
        from torchao.quantization import Int8WeightOnlyConfig

        quantize_(model, Int8WeightOnlyConfig())
    elif variant == "float8":
        from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow

        quantize_(model, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()))


def _time(model: Any, x: Any, iters: int, sync: Any) -> float:
    import torch

    with torch.inference_mode():
        for _ in range(2):
            model(x)
        sync()
        start = time.perf_counter()
        for _ in range(iters):
            model(x)
        sync()
    return (time.perf_counter() - start) / iters


def main() -> None:
    """Measure every variant the budget allows; write gpu_inference.json and .md under --out."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--budget-s", type=float, default=110.0, help="stop starting new measurements after this")
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny preset")
    parser.add_argument("--variants", default="bf16,int8-weight-only,float8", help="which, in this order")
    args = parser.parse_args()
    started = time.perf_counter()
    _import_seek()
    import torch

    from seek.models import SeekConfig, SeekTransformer

    device = "cpu" if args.smoke else "cuda"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    preset = "tiny" if args.smoke else "large"
    seq = 64 if args.smoke else args.seq
    cfg = SeekConfig.preset(preset, vocab_size=VOCAB, dropout=0.0, num_outputs=2)
    ao = _torchao()
    info: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
        "preset": preset,
        "seq": seq,
        "torchao": ao,
        "command": " ".join(["python", *sys.argv]),
    }
    batches = [int(b) for b in args.batches.split(",")]
    generator = torch.Generator().manual_seed(1)
    inputs = {b: torch.randint(0, VOCAB, (b, seq), generator=generator).to(device) for b in batches}
    probe = torch.randint(0, VOCAB, (4, seq), generator=generator).to(device)
    rows: list[dict[str, Any]] = []
    reference = None
    variants = [v for v in args.variants.split(",") if v == "bf16" or ao.get("source")]
    args.out.mkdir(parents=True, exist_ok=True)
    for variant in variants:
        for compiled in (False, True):
            row: dict[str, Any] = {"variant": variant, "compile": compiled}
            rows.append(row)
            if time.perf_counter() - started > args.budget_s:
                row["skipped"] = f"time budget of {args.budget_s:.0f} s spent"
                continue
            try:
                torch.manual_seed(0)
                with torch.device(device):
                    model = SeekTransformer(cfg).to(torch.bfloat16).eval()
                row["parameters"] = model.num_parameters()
                _quantize(model, variant)
                t0 = time.perf_counter()
                if compiled:
                    for block in model.blocks:
                        block.compile(dynamic=True)
                with torch.inference_mode():
                    logits = model(probe).float()
                sync()
                row["first_call_s"] = round(time.perf_counter() - t0, 2)
                if variant == "bf16" and not compiled:
                    reference = logits
                if reference is not None:  # without the bf16 row (--variants), no comparison
                    row["max_rel_logit_err_vs_bf16"] = float((logits - reference).abs().max() / reference.abs().max())
                for b in batches:
                    seconds = _time(model, inputs[b], args.iters, sync)
                    row[f"b{b}_ms"] = round(seconds * 1e3, 3)
                    row[f"b{b}_tokens_per_s"] = round(b * seq / seconds)
                if device == "cuda":
                    row["weights_gib"] = round(sum(t.numel() * t.element_size() for t in _tensors(model)) / 2**30, 3)
                del model
            except Exception as exc:  # noqa: BLE001 - a variant that does not run is a result, recorded as such
                row["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            if device == "cuda":
                torch.cuda.empty_cache()
            print(json.dumps(row), flush=True)
            (args.out / "gpu_inference.json").write_text(json.dumps({**info, "rows": rows}, indent=2))
    info["rows"] = rows
    info["wall_s"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_inference.json").write_text(json.dumps(info, indent=2))
    print(json.dumps({k: v for k, v in info.items() if k != "rows"}))


def _tensors(model: Any) -> list[Any]:
    """Every stored weight, quantized subclasses unwrapped to their inner tensors."""
    out = []
    for t in model.state_dict().values():
        inner = getattr(t, "__tensor_flatten__", None)
        if inner is not None:
            names, _ = t.__tensor_flatten__()
            out.extend(getattr(t, n) for n in names)
        else:
            out.append(t)
    return out


if __name__ == "__main__":
    main()
