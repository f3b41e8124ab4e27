import contextlib
import os
import pickle
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trainables import CifarImages, load_cifar
from trainables.cifar import BIN_MD5

pytest_plugins = ["pytester"]  # tests of this conftest's own hooks
ROOT = Path(__file__).resolve().parents[1]
# The write-up's faithful code path (benchmarks/writeup.py) is not part of the installed package.
sys.path.insert(0, str(ROOT / "benchmarks"))

# Token authentication on for the Ray cluster of this session, as on a real cluster, with a token made for the
# session: every node, driver and CLI client started from here inherits it (a fresh machine has no
# ~/.ray/auth_token to fall back on). Set before any test module imports Ray, which reads it once.
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
# Object-store tests (an S3 server on loopback) sign with keys from the environment, as a cluster's nodes do: set
# before Ray starts so every node inherits them. The secret is new each session so a test can look for it in files.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "mosaic-sweep-test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", secrets.token_hex(16))
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookups off the cloud

SHARED_BIN = ROOT.parent / "shared" / "cifar-10-batches-bin"


def real_data_dir() -> Path | None:
    """The official CIFAR-10 copy for real-data tests: $MOSAIC_SWEEP_DATA, else ../shared, else None."""
    env = os.environ.get("MOSAIC_SWEEP_DATA")
    for candidate in ([Path(env)] if env else []) + [SHARED_BIN]:
        if candidate.exists():
            return candidate
    return None


# Plumbing runs through Ray (retries, resumes, kills, storage) train a few dozen mosaics: an epoch takes 0.05 s
# instead of smoke's 1 s on 2 cores, and nothing those tests check depends on how many mosaics there are. Batches
# of 10, so that an epoch still takes several steps in a shuffled order (an exact resume restores both).
TINY = {"n_train": 40, "n_test": 20, "batch_size": 10}
TINY_SET = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]


def exit_code(argv: list[str]) -> int:
    """`mosaic-sweep ARGV`'s exit status, whether it returns or argparse exits."""
    from orchestrator.cli import main

    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@contextlib.contextmanager
def cli_process(argv: list[str], **popen):
    """`python -m orchestrator.cli ARGV` as a subprocess in its own process group, killed with everything it started
    however the test ends: a test that fails while its driver runs must not leave that driver training on the
    session's cluster, where it holds the CPUs the next tests wait for."""
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", *argv], start_new_session=True, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def synthetic_images(n_train: int = 1000, n_test: int = 300, seed: int = 0) -> CifarImages:
    """Random uint8 images with every label present; enough for plumbing tests, not for learning."""
    rng = np.random.default_rng(seed)
    make = lambda n: (rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8), np.arange(n, dtype=np.int64) % 10)
    return CifarImages(*make(n_train), *make(n_test))


def official_batches(images):
    """The images split as the official files are: 5 training batches, then the test batch."""
    chunks = np.array_split(np.arange(len(images.train_labels)), 5)
    return [(images.train_images[c], images.train_labels[c]) for c in chunks] + [
        (images.test_images, images.test_labels)
    ]


def write_bin_layout(root, images):
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for name, (x, y) in zip(BIN_MD5, official_batches(images)):
        records = np.concatenate([y.astype(np.uint8)[:, None], x.reshape(len(x), -1)], axis=1)
        records.tofile(folder / name)
    (folder / "batches.meta.txt").write_text("\n".join(["airplane"] * 10))
    return folder


def write_py_layout(root, images):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, (x, y) in zip(names, official_batches(images)):
        entry = {"batch_label": name, "labels": y.tolist(), "data": x.reshape(len(x), -1), "filenames": []}
        with open(folder / name, "wb") as fh:
            pickle.dump(entry, fh)
    return folder


@pytest.fixture(scope="session")
def fake_images() -> CifarImages:
    return synthetic_images()


@pytest.fixture(scope="session")
def real_images() -> CifarImages:
    path = real_data_dir()
    if path is None:
        pytest.skip("official CIFAR-10 copy not present (../shared/cifar-10-batches-bin or $MOSAIC_SWEEP_DATA)")
    return load_cifar(path)


def write_synthetic_cifar(root: Path, n_train: int = 2000, n_test: int = 500) -> Path:
    """A CIFAR-format binary copy of synthetic images (load it with verify=False / --no-verify)."""
    write_bin_layout(root, synthetic_images(n_train, n_test))
    return root


@pytest.fixture(scope="session")
def synthetic_cifar_dir(tmp_path_factory) -> Path:
    return write_synthetic_cifar(tmp_path_factory.mktemp("synthetic-cifar"))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def ray_cluster():
    """One Ray cluster for the whole test session: a head and a worker node, 1 CPU each, on this machine."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    node_args = {"num_cpus": 1, "object_store_memory": 400 * 2**20}
    # The head runs the dashboard (on loopback, a free port) so that jobs can be submitted to it. Each node's
    # dashboard agent gets a free port too: with Ray's default (52365) held by another Ray on this machine (a sweep
    # running beside the tests) the head would have no agent, and every job submission would be refused.
    head_args = {
        **node_args,
        "include_dashboard": True,
        "dashboard_host": "127.0.0.1",
        "dashboard_port": free_port(),
        "dashboard_agent_listen_port": free_port(),
    }
    cluster = Cluster(initialize_head=True, head_node_args=head_args)
    cluster.add_node(**node_args, dashboard_agent_listen_port=free_port())
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)
    cluster.dashboard_url = f"http://127.0.0.1:{head_args['dashboard_port']}"
    yield cluster
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture(scope="session")
def tables_smoke_run(ray_cluster, synthetic_cifar_dir, tmp_path_factory):
    """`mosaic-sweep run tables --scale smoke` on TINY mosaics, once per session (real CIFAR when present):
    (run_dir, exit, stdout and stderr).

    Tests of the run and of reports on it share this one run."""
    import io

    from orchestrator.cli import main

    real = real_data_dir()
    results = tmp_path_factory.mktemp("results")
    argv = [
        "run",
        "tables",
        "--scale",
        "smoke",
        "--data-dir",
        str(real or synthetic_cifar_dir),
        "--results-dir",
        str(results),
        "--progress-every",
        "30",
        *TINY_SET,
    ] + ([] if real else ["--no-verify"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):  # both: the secret checks scan stderr too
        code = main(argv)
    return results / "tables-smoke", code, out.getvalue()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (CI=true) every test runs: a skip for missing data, a missing extra or a missing browser means the
    CI machine is not set up as .ci/run sets it up, and must fail rather than pass quietly."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") == "true" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {reason}"
