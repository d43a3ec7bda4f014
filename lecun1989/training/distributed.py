"""A variant's runs over several processes (hosts) with jax.distributed, when the environment asks.

JAX_COORDINATOR_ADDRESS (host:port of process 0; JAX's own variable, which jax.distributed.initialize
reads) turns it on. jax 0.10 reads no variable for the process count and id: they come from
LECUN1989_NUM_PROCESSES and LECUN1989_PROCESS_ID, or, when those are unset, from JAX's own cluster
detection (SLURM, Open MPI, Kubernetes, Cloud TPU). Every process runs the same train stage with the
same arguments; the runs train vectorized (vectorized.py), the mesh spanning every process's
devices, so each process trains its shard of the runs; each ends holding every run's result, and only
process 0 writes the outputs. Between CPU processes the collectives go over gloo.
"""

import contextlib
import tempfile
from pathlib import Path

from lecun1989 import runtime


def initialize_from_env() -> bool:
    """jax.distributed.initialize when the environment asks for several processes (runtime.processes),
    before JAX starts its backend; True if it ran."""
    several = runtime.processes()
    if several is None:
        return False
    address, count, pid = several
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU processes reach each other over TCP
    jax.distributed.initialize(coordinator_address=address, num_processes=count, process_id=pid)
    return True


def is_writer() -> bool:
    """Process 0 writes the outputs (every process holds the same results); a lone process is 0."""
    import jax

    return jax.process_index() == 0


@contextlib.contextmanager
def discarded(files=(), folders=()):
    """atomic.staged's shape for a process that writes nothing: {target: scratch path} in a temporary
    folder, removed afterwards; the targets are never touched."""
    with tempfile.TemporaryDirectory(prefix="lecun1989-not-writer-") as tmp:
        scratch = {Path(t): Path(tmp) / f"file{i}" for i, t in enumerate(files)}
        for i, t in enumerate(folders):
            scratch[Path(t)] = Path(tmp) / f"folder{i}"
            scratch[Path(t)].mkdir()
        yield scratch
