"""Connecting to Ray: an embedded local cluster by default, or a running cluster by address."""

from __future__ import annotations

import os

DASHBOARD_PORT = 8265
LOOPBACK = "127.0.0.1"


def connect(address: str | None, num_cpus: int | None = None, dashboard_host: str = LOOPBACK) -> str | None:
    """Start or join Ray; returns the dashboard URL (None when there is none).

    address None (and no RAY_ADDRESS): start a local cluster in this process, dashboard on
    127.0.0.1:8265 unless `dashboard_host` says otherwise; Ray's token authentication stays on (its default).
    'auto' or HOST:PORT: join a running cluster; its dashboard is the head's.
    An already initialised Ray (tests, notebooks) is reused as it is.
    """
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    if ray.is_initialized():
        context = ray.init(ignore_reinit_error=True)
    elif address is None:
        # "local": always a new instance, even when a `ray start` cluster runs on this machine
        context = ray.init(
            address="local",
            num_cpus=num_cpus,
            include_dashboard=True,
            dashboard_host=dashboard_host,
            dashboard_port=DASHBOARD_PORT,
            logging_level="WARNING",
            log_to_driver=False,
        )  # trials print nothing we need; their errors reach Tune
    else:
        context = ray.init(address=address, logging_level="WARNING")
    url = getattr(context, "dashboard_url", None)
    return (url if url.startswith("http") else f"http://{url}") if url else None


def cluster_gpus() -> float:
    import ray

    return float(ray.cluster_resources().get("GPU", 0))
