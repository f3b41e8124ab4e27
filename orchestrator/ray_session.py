"""Connecting to Ray: an embedded local cluster by default, or a running cluster by address."""

from __future__ import annotations

import os
import socket

from .errors import UsageError

DASHBOARD_PORT = 8265
LOOPBACK = "127.0.0.1"
CONNECT_TIMEOUT_S = 5.0


def connect(address: str | None, num_cpus: int | None = None, dashboard_host: str = LOOPBACK) -> str | None:
    """Start or join Ray; returns the dashboard URL (None when there is none).

    address None (and no RAY_ADDRESS): start a local cluster in this process, dashboard on 127.0.0.1:8265 (or a
    free port when another sweep on this machine has that one) unless `dashboard_host` says otherwise; Ray's
    token authentication stays on (its default).
    'auto' or HOST:PORT: join a running cluster; its dashboard is the head's. A HOST:PORT where nothing listens
    fails within seconds (UsageError naming it) instead of Ray's minutes of retries.
    An already initialised Ray (tests, notebooks) is reused as it is.
    """
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    if ray.is_initialized():
        context = ray.init(ignore_reinit_error=True)
    elif address is None:
        context = start_local(num_cpus, dashboard_host)
    else:
        check_reachable(address)
        try:
            # as in a local cluster, trials' output stays in their logs (their errors reach Tune): a worker's
            # late "SystemExit" must not print after our own last line, which says how to go on
            context = ray.init(address=address, logging_level="WARNING", log_to_driver=False)
        except ConnectionError as exc:
            raise UsageError(f"cannot join the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    protect_token()
    url = getattr(context, "dashboard_url", None)
    return (url if url.startswith("http") else f"http://{url}") if url else None


TOKEN_FILE = os.path.join("~", ".ray", "auth_token")


def protect_token(path: str = TOKEN_FILE) -> None:
    """Ray writes ~/.ray/auth_token readable by every user of the machine (0644); whoever reads it can run code
    on the cluster. Make it the owner's alone (0600) when it exists."""
    path = os.path.expanduser(path)
    try:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError:
        pass  # no token file (token from the environment), or not ours to change


def start_local(num_cpus: int | None, dashboard_host: str):
    """A new local Ray in this process ("local": even when a `ray start` cluster runs on this machine).

    Sweeps started at the same moment on one machine take turns (a file lock) between choosing a free dashboard
    port and binding it, so the second never finds the first's port taken; a port some other program grabs in
    between costs one retry on another port."""
    import fcntl
    import tempfile

    import ray

    lock_path = os.path.join(tempfile.gettempdir(), "mosaic-sweep-ray-start.lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for attempt in range(2):
            try:
                return ray.init(
                    address="local",
                    num_cpus=num_cpus,
                    include_dashboard=True,
                    dashboard_host=dashboard_host,
                    dashboard_port=free_port(dashboard_host, DASHBOARD_PORT if attempt == 0 else 0),
                    logging_level="WARNING",
                    log_to_driver=False,  # trials print nothing we need; their errors reach Tune
                )
            except Exception as exc:  # Ray raises a bare Exception when its dashboard cannot bind
                ray.shutdown()
                if attempt == 1 or "port for dashboard" not in str(exc):
                    raise
    raise AssertionError("unreachable")


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """HOST:PORT (or ray://HOST:PORT) must accept a TCP connection; 'auto' is left to Ray (it reads the address
    of the cluster started on this machine and fails at once when there is none)."""
    host_port = address.split("://", 1)[-1]
    if address == "auto" or ":" not in host_port:
        return
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"no Ray cluster at {address}: cannot connect ({exc.strerror or exc}); start one with `ray start "
            f"--head`, or leave --address out to start Ray in this process"
        ) from None


def free_port(host: str, preferred: int) -> int:
    """`preferred` when nothing listens there, else a free port the OS picks: a second sweep started on the same
    machine gets its own dashboard instead of dying on a taken port."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return sock.getsockname()[1]
    return preferred


def cluster_gpus() -> float:
    import ray

    return float(ray.cluster_resources().get("GPU", 0))
