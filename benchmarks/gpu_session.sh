#!/usr/bin/env bash
# One paper-scale run on a lent GPU machine (the `device` tool), in the last of its four calls; see
# results/published/README.md ("Adding a run") for the whole procedure. Runs in the checkout's root there:
#   calls 1-3 (carry .stage/N): stage=${STAGE:-/root/stage}  # where calls 1-3 copied the bundles; CIFAR-10 ends up in $stage/cifar-10-batches-bin
if [ -z "${NO_INSTALL:-}" ]; then  # NO_INSTALL=1 STAGE=../shared: a dry run on a machine with the project installed
  mkdir -p "$stage"
  if [ -d .stage/4 ]; then cp -r .stage/4/. "$stage/"; fi
  bash "$stage/unpack.sh" || exit 3
  export PYTHONPATH=$stage/site${PYTHONPATH:+:$PYTHONPATH}
  pip install -q --no-deps --no-build-isolation -e . > "$out/install.log" 2>&1 || { tail -5 "$out/install.log"; exit 3; }
fi
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "no nvidia-smi: no GPU") | tee "$out/gpu.txt"
python -c 'import torch, ray; print("torch", torch.__version__, "ray", ray.__version__)' | tee -a "$out/gpu.txt"

# a short throughput measurement first: the numbers for the README's Benchmarks, and for sizing the next run
timeout "${BENCH_S:-90}" python benchmarks/gpu_throughput.py --data-dir "$stage" --packs 1,16 \
  --precisions fp32,tf32 2>&1 | tee "$out/throughput.txt"

results=${RESULTS:-/root/results}
left=$((limit - (SECONDS - start) - 30))  # 30 s for the tar below
echo "run: mosaic-sweep run $* (time limit ${left} s)" | tee "$out/run.log"
mosaic-sweep run "$@" --data-dir "$stage" --results-dir "$results" --time-limit "$left" --progress-every 30 \
  2>&1 | tee -a "$out/run.log"
rc=${PIPESTATUS[0]}
echo "mosaic-sweep exit status: $rc" | tee -a "$out/run.log"
# the run folder whole (Ray's restore expects both kept checkpoints of a trial: none may go missing)
tar -C "$results" -czf - . | split -b 15M - "$out/run.tar.gz.part-"
ls -la "$out"
exit "$rc"
