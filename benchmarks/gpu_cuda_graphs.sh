#!/usr/bin/env bash
# One device call for trainer.cuda_graphs (issue 17): the GPU tests, then the preset and small tables.
# Run from the repository root on the lent H200 with build/pydeps carried (pydantic, safetensors, pytest
# wheels for cp312: the machine has no registry); results go to $OUT (or benchmarks/results/ by default).
set -u
OUT=$(cd "${OUT:-benchmarks/results}" && pwd)
CALL=${CALL:-15}
python3 -m pip install -q --no-index --no-deps --target /tmp/site build/pydeps/*.whl
export PYTHONPATH=/tmp/site:$PWD/core
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv | tee "$OUT/gpu_cuda_graphs_call$CALL.env"
lscpu | grep -E "Model name|^CPU\(s\)" | tee -a "$OUT/gpu_cuda_graphs_call$CALL.env"
timeout 200 python3 -m pytest -q -p no:cacheprovider tests/training/test_graphs.py 2>&1 | tail -25 | tee "$OUT/gpu_cuda_graphs_call${CALL}_tests.txt"
cd benchmarks
V=${V:-"trainer-eager-bf16p trainer-cudagraphs-bf16p trainer-eager trainer-cudagraphs trainer-eager-bf16p-lean trainer-cudagraphs-bf16p-lean bare-eager-bf16p peer-eager"}
O=${O:-"trainer-eager-bf16p trainer-cudagraphs-bf16p peer-eager"}
python3 gpu_bench.py --efficiency --eff-presets ${PRESETS:-large base xl} --variants $V --other-variants $O --modes cudagraphs \
  --small-preset "${SMALL-small}" --dropout-presets ${DROPOUT_PRESETS:-} --profile-preset "" --repeats ${REPEATS:-3} --stat median \
  --length-settings "" --budget-s ${BUDGET:-330} --out "$OUT/gpu_efficiency_call$CALL.json" 2>&1 | tail -80
if [ -n "${LEAN_QUALITY:-}" ]; then  # the lean block's learning next to the default one's, large at 2048 tokens
  python3 bench_lean_quality.py --device cuda --preset large --length 2048 --batch 8 --cuda-graphs $LEAN_QUALITY \
    --out "$OUT/lean_quality_gpu_call$CALL.json" 2>&1 | tail -30
fi
