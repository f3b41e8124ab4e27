#!/usr/bin/env bash
# The first of a lent GPU machine's four calls (results/published/README.md, "Adding a run"): it carries .stage/1
# (Ray), unpacks and installs it, then checks and measures what the last call's paper-scale run depends on, on
# random images, before the CIFAR-10 parts arrive:
#   bash benchmarks/gpu_probe.sh            (carry .stage/1; about 3 minutes)
# - gpu.txt: the GPU, torch and Ray versions, and the GPUs Ray sees (a run that Ray cannot give the GPU to would
#   train on the CPU);
# - throughput.txt: benchmarks/gpu_throughput.py on synthetic images (same cost as CIFAR-10), whose paper-epoch
#   times size the run of the last call (which then skips its own measurement: BENCH_S=0 gpu_session.sh ...);
# - smoke.txt: `mosaic-sweep run tables --scale smoke` through Ray on the GPU (packed), with the device each
#   trial reported.
# Dry run where the project is installed, without a GPU: OUT=/tmp/gp NO_INSTALL=1 bash benchmarks/gpu_probe.sh
set -uo pipefail
out=${OUT:?no \$OUT: run this through the device tool}
stage=${STAGE:-/root/stage}
py=$(command -v python || command -v python3)

if [ -z "${NO_INSTALL:-}" ]; then
  mkdir -p "$stage" && cp -r .stage/1/. "$stage/" || exit 3
  bash "$stage/unpack.sh" || exit 3
  export PYTHONPATH=$stage/site${PYTHONPATH:+:$PYTHONPATH}
  "$py" -m pip install -q --no-deps --no-build-isolation -e . > "$out/install.log" 2>&1 \
    || echo "pip install failed (see install.log); running from the checkout instead"
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2> /dev/null || echo "no GPU (no nvidia-smi)"
  echo "cores $(nproc); $(free -g | awk '/Mem:/ {print $2 " GiB memory"}'); /dev/shm $(df -h /dev/shm | awk 'NR==2 {print $2}')"
  "$py" -c 'import sys, torch, ray; print("python", sys.version.split()[0], "torch", torch.__version__, "ray", ray.__version__)'
  timeout 60 "$py" -c 'import ray; ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR"); print("Ray sees", ray.cluster_resources())'
} 2>&1 | tee "$out/gpu.txt"

if [ "${BENCH_S:-100}" != 0 ]; then  # 0 skips it, as in gpu_session.sh (timeout 0 would mean no limit)
  timeout "${BENCH_S:-100}" "$py" benchmarks/gpu_throughput.py --synthetic --packs "${PACKS:-1,4,16}" \
    --precisions "${PRECISIONS:-fp32,tf32}" 2>&1 | tee "$out/throughput.txt"
fi

fake=$(mktemp -d)
"$py" -c 'import sys; from pathlib import Path; from tests.conftest import write_synthetic_cifar; write_synthetic_cifar(Path(sys.argv[1]))' "$fake"
timeout "${SMOKE_S:-120}" "$py" -m orchestrator.cli run tables --scale smoke --data-dir "$fake" --no-verify \
  --results-dir "$fake/results" --name smoke --time-limit $((${SMOKE_S:-120} - 20)) 2>&1 | tail -n 25 | tee "$out/smoke.txt"
"$py" -c 'import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]).to_pandas(); print(t.groupby(["device", "status"]).size().to_string())' \
  "$fake/results/smoke/trials.parquet" 2>&1 | tee -a "$out/smoke.txt"
