"""Is the run folder shared by every node? Checkpoints written to node-local disk are lost with the node."""

from __future__ import annotations

import os
import uuid


def nodes_missing_storage(run_path: str, timeout_s: float = 60.0) -> list[str]:
    """IDs of alive Ray nodes that cannot see a marker file the driver writes into the results folder.

    Object-store URIs (s3://, gs://) are shared by definition; a local path may be NFS (fine) or a disk of the
    driver's machine (not fine on several nodes): only asking each node tells them apart."""
    if "://" in run_path:
        return []
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    parent = os.path.dirname(os.path.abspath(run_path))
    created = not os.path.exists(parent)
    os.makedirs(parent, exist_ok=True)
    marker = os.path.join(parent, f".mosaic-sweep-probe-{uuid.uuid4().hex}")
    open(marker, "w").close()
    try:
        probe = ray.remote(num_cpus=0)(os.path.exists)
        nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        refs = {
            node: probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(marker)
            for node in nodes
        }
        return [node for node, ref in refs.items() if not ray.get(ref, timeout=timeout_s)]
    finally:
        os.remove(marker)
        if created:
            try:
                os.rmdir(parent)  # leave nothing behind when the run does not start
            except OSError:
                pass
