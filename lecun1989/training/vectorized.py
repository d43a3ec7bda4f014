"""A variant's runs in one program, for accelerators: the one-seed epoch vmapped over runs, the runs
spread over every device with jax.sharding (a Mesh with one axis, "runs").

A run is one seed's State and, optionally, its own training digits: X (n, 16, 16) and Y (n,) are
shared by all runs (one copy on every device, not vmapped), X (runs, n, 16, 16) and Y (runs, n) are
per run (sharded like the State). All runs of a call train the same number of digits.

Each device runs the vmapped epoch on its own block of runs (shard_map: no communication between
devices). The run count is padded up to a multiple of the device count with copies of the last run
(its State and data), whose results are dropped: 5 runs on 4 devices train 8, 3 of them wasted.

The same code runs multi-host under jax.distributed: the mesh spans jax.devices(), every process's
devices; every process holds the whole State and data on the host (init is deterministic from the
seeds; every process loads the data), hands its own devices their shards (make_array_from_callback)
and gathers the whole result back (process_allgather). With one process, these are plain transfers.

The CPU default stays one program per run on threads (runs.py says why); LECUN1989_RUNS picks.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P


def padded_count(n_runs: int, n_devices: int) -> int:
    return -(-n_runs // n_devices) * n_devices


def pad_runs(tree, n: int):
    """Each leaf's leading (run) axis padded to n with copies of its last run."""
    return jax.tree.map(lambda a: np.concatenate([a, np.repeat(a[-1:], n - len(a), axis=0)]), tree)


class VectorizedRuns:
    """one_run_epoch(state, epoch, X, Y) -> state, vmapped over runs and sharded over devices."""

    def __init__(self, one_run_epoch, devices=None):
        self.mesh = Mesh(np.array(devices or jax.devices()), ("runs",))
        self.n_devices = self.mesh.devices.size
        self._programs = {
            per_run: self._program(one_run_epoch, per_run) for per_run in (False, True)
        }  # jit compiles lazily: only the kind that is called
        self._data = (None, None)  # (the host arrays last put, their device copies): an epoch reuses them

    def _program(self, one_run_epoch, per_run: bool):
        data_axis, data_spec = (0, P("runs")) if per_run else (None, P())
        runs = jax.vmap(one_run_epoch, in_axes=(0, None, data_axis, data_axis))
        specs = (P("runs"), P(), data_spec, data_spec)
        return jax.jit(jax.shard_map(runs, mesh=self.mesh, in_specs=specs, out_specs=P("runs")))

    def put(self, tree, spec):
        """Host arrays (each process holds all of them) -> global arrays laid out as spec."""
        sharding = NamedSharding(self.mesh, spec)
        return jax.tree.map(lambda a: jax.make_array_from_callback(a.shape, sharding, lambda index: a[index]), tree)

    def epoch_sharded(self, state, epoch: int, X, Y):
        """The epoch on the padded runs; returns the sharded State, padded (run i on device
        i // (padded runs / devices))."""
        n_runs = len(jax.tree.leaves(state)[0])
        n = padded_count(n_runs, self.n_devices)
        per_run = np.ndim(X) == 4
        host = lambda tree: jax.tree.map(np.asarray, tree)
        state = self.put(pad_runs(host(state), n), P("runs"))
        if self._data[0] is None or self._data[0][0] is not X or self._data[0][1] is not Y:
            data = pad_runs(host((X, Y)), n) if per_run else host((X, Y))
            self._data = ((X, Y), self.put(data, P("runs") if per_run else P()))
        epoch = self.put(np.int32(epoch), P())
        return self._programs[per_run](state, epoch, *self._data[1])

    def train_epoch(self, state, epoch: int, X, Y):
        """The epoch of every run: the State's leaves have a leading run axis, in and out."""
        n_runs = len(jax.tree.leaves(state)[0])
        out = self.epoch_sharded(state, epoch, X, Y)
        return jax.tree.map(lambda a: jnp.asarray(a[:n_runs]), multihost_utils.process_allgather(out, tiled=True))
