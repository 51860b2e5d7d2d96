#!/bin/bash
# Render the GPU variants of the torch-lightning and hf-finetune stacks and run, on a CUDA
# machine, each project's own test suite (its `gpu` tests included) and a default training run.
#
#   scripts/gpu-proof.sh [WORKDIR] [LOGDIR]
#
# Needs mlscaffold on PATH and, in the current `python3`, the projects' dependencies (torch,
# lightning, jsonargparse[signatures], transformers, datasets, accelerate, onnx...). The projects
# are used from their `src/` (PYTHONPATH), not installed. docs/gpu.md holds the last results.
set -u
if ! python3 -c "import sys, torch; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
  echo "gpu-proof: needs torch with a CUDA GPU in python3; the projects' CPU tests run in CI" >&2
  exit 2
fi
work=${1:-gpu-proof}
logs=${2:-$work/logs}
mkdir -p "$work" "$logs"
declare -A variants=(
  [tl_gpu]="--task=custom --hardware=gpu --goal=research"
  [tl_multi]="--task=image-classification --hardware=multi-gpu --goal=research --stack=torch-lightning"
  [hf_gpu]="--task=text-classification --hardware=gpu"
  [hf_ner]="--task=token-classification --hardware=gpu"
  [hf_multi]="--task=text-classification --hardware=multi-gpu"
)
status=0
for name in tl_gpu tl_multi hf_gpu hf_ner hf_multi; do
  [ -d "$work/$name" ] || mlscaffold new "$work/$name" --defaults ${variants[$name]} >/dev/null || exit 1
  start=$(date +%s)
  (cd "$work/$name" && PYTHONPATH=$PWD/src python3 -m pytest -q -p no:cacheprovider -rfEs) \
    >"$logs/$name.log" 2>&1 || status=1
  echo "$name: $(tail -1 "$logs/$name.log") ($(($(date +%s) - start)) s)"
done
for name in tl_gpu tl_multi; do  # `make train`: the generated defaults (bf16-mixed, DDP)
  (cd "$work/$name" && PYTHONPATH=$PWD/src python3 -m "$name" fit) >"$logs/${name}_fit.log" 2>&1 \
    || status=1
  echo "$name fit: $(grep -E "GPU available|distributed_backend|Mixed Precision" "$logs/${name}_fit.log" | tr '\n' ' ')"
done
exit $status
