#!/usr/bin/env bash
# One paper-scale run on a lent GPU machine (the `device` tool), in the last of its four calls; the whole procedure
# is in results/published/README.md ("Adding a run"). Runs in the checkout's root there:
#   call 1 (carry .stage/1):     bash benchmarks/gpu_probe.sh   (Ray, throughput, a smoke run through Ray)
#   calls 2-3 (carry .stage/N):  mkdir -p /root/stage && cp -r .stage/N/. /root/stage/
#   call 4 (carry .stage/4):     BENCH_S=0 bash benchmarks/gpu_session.sh LIMIT_S RUN_ARGS...
# e.g. BENCH_S=0 bash benchmarks/gpu_session.sh 570 table1 --scale paper --only table1/7 --pack 1 --name table1-row7-paper-h200
# (BENCH_S=0: no throughput measurement here, gpu_probe.sh made it; without the probe, call 1 only copies .stage/1)
# It unpacks Ray and CIFAR-10 (.stage, made here by ../shared/tools/offline-bundles), installs this checkout,
# measures packed throughput for 90 s at most, runs `mosaic-sweep run RUN_ARGS` with a --time-limit that stops the
# sweep gracefully (resumable, exit 75) LIMIT_S after this script started, less 60 s for packing up, and leaves
# under $OUT: gpu.txt, throughput.txt, run.log, install.log and the run folders as run.tar.gz.part-aa, -ab, ...
# (15 MiB parts: no file from $OUT may exceed 16 MiB). Here: cat run.tar.gz.part-* | tar -xz -C results/
# To go on with a run an earlier session brought back (results/NAME here, ignored by git), add a fifth call that
# carries it: call 4 then only copies (carry .stage/4: mkdir -p /root/stage && cp -r .stage/4/. /root/stage/),
# call 5 (carry results/NAME) runs: RESUME_DIR=results/NAME bash benchmarks/gpu_session.sh 480 SPACE --resume --name NAME
# (SPACE: the run's own, as its run.json says, e.g. table1 for table1-row7-paper-h200)
# On the same machine while it is still warm (the call right after call 4), /root/stage and /root/results are still
# there: BENCH_S=0 bash benchmarks/gpu_session.sh LIMIT_S SPACE --resume --name NAME, carrying nothing
# A dry run where the project is installed, without a GPU:
#   OUT=/tmp/gs NO_INSTALL=1 STAGE=../shared RESULTS=/tmp/gs-results bash benchmarks/gpu_session.sh 100 table1 ...
set -uo pipefail
limit=${1:?usage: gpu_session.sh LIMIT_S RUN_ARGS...}
shift
out=${OUT:?no \$OUT: run this through the device tool}
stage=${STAGE:-/root/stage}        # where calls 1-3 copied the bundles; CIFAR-10 ends up in it
results=${RESULTS:-/root/results}
py=$(command -v python || command -v python3)

if [ -z "${NO_INSTALL:-}" ]; then
  mkdir -p "$stage"
  if [ -d .stage/4 ]; then cp -r .stage/4/. "$stage/"; fi
  bash "$stage/unpack.sh" || exit 3
  export PYTHONPATH=$stage/site${PYTHONPATH:+:$PYTHONPATH}
  "$py" -m pip install -q --no-deps --no-build-isolation -e . > "$out/install.log" 2>&1 \
    || echo "pip install failed (see install.log); running from the checkout instead"
fi
# the checkout itself on the path, for this process and the Ray workers it starts: no install step can stop the run
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
if [ -n "${RESUME_DIR:-}" ]; then  # under $results with any new run: the tar below brings them all back
  mkdir -p "$results" && cp -r "$RESUME_DIR" "$results/" || exit 3
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2> /dev/null || echo "no GPU (no nvidia-smi)"; } \
  | tee "$out/gpu.txt"
"$py" -c 'import torch, ray; print("torch", torch.__version__, "ray", ray.__version__)' | tee -a "$out/gpu.txt"

# a short throughput measurement first: numbers for the README's Benchmarks, and for sizing the next run
if [ "${BENCH_S:-90}" != 0 ]; then  # 0: gpu_probe.sh measured it in the first call
  timeout "${BENCH_S:-90}" "$py" benchmarks/gpu_throughput.py --data-dir "$stage" --packs 1,16 \
    --precisions fp32,tf32 2>&1 | tee "$out/throughput.txt"
fi

left=$((limit - SECONDS - 60))  # Python's start, Tune's last checkpoint, the final table and the tar
if [ "$left" -lt 30 ]; then
  echo "no time left for the run ($left s): give a larger LIMIT_S" | tee "$out/run.log"
  exit 4
fi
echo "run: mosaic-sweep run $* (time limit $left s)" | tee "$out/run.log"
"$py" -m orchestrator.cli run "$@" --data-dir "$stage" --results-dir "$results" --time-limit "$left" \
  --progress-every 30 2>&1 | tee -a "$out/run.log"
rc=${PIPESTATUS[0]}
echo "mosaic-sweep exit status: $rc" | tee -a "$out/run.log"
# the run folders whole (Ray's restore expects every checkpoint it kept: none may go missing)
if [ -d "$results" ]; then
  tar -C "$results" -czf - . | split -b 15M - "$out/run.tar.gz.part-"
fi
ls -la "$out"
exit "$rc"
