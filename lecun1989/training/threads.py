"""Runs side by side on the CPU: one thread per core, and each run's own data."""

import os
from concurrent.futures import ThreadPoolExecutor


def each_run(fn, n: int) -> list:
    """[fn(i) for i in range(n)], spread over one thread per CPU core."""
    with ThreadPoolExecutor(min(n, os.cpu_count() or 1)) as pool:
        return list(pool.map(fn, range(n)))


def run_data(data, i: int):
    """Run i's array: `data` is one array shared by every run, or a list of one array per run."""
    return data[i] if isinstance(data, list | tuple) else data
