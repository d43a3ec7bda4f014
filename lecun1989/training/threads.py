"""Runs side by side on the CPU: one thread per core, and each run's own data."""

import os
from concurrent.futures import ThreadPoolExecutor, as_completed


def each_run(fn, n: int) -> list:
    """[fn(i) for i in range(n)], spread over one thread per CPU core."""
    with ThreadPoolExecutor(min(n, os.cpu_count() or 1)) as pool:
        return list(pool.map(fn, range(n)))


def each_run_then(first, then, n: int, m: int) -> tuple[list, list]:
    """([first(i) for i], [[then(i, j, first(i)) for j in range(m)] for i]) on one thread per core, each
    run's then(i, .) queued as soon as its first(i) is done (behind the firsts not yet started): no core
    waits for the last runs' firsts while other runs' thens could run."""
    with ThreadPoolExecutor(min(n, os.cpu_count() or 1)) as pool:
        firsts = {pool.submit(first, i): i for i in range(n)}
        done, thens = [None] * n, [None] * n
        for future in as_completed(firsts):
            i = firsts[future]
            done[i] = future.result()
            thens[i] = [pool.submit(then, i, j, done[i]) for j in range(m)]
        return done, [[t.result() for t in row] for row in thens]


def run_data(data, i: int):
    """Run i's array: `data` is one array shared by every run, or a list of one array per run."""
    return data[i] if isinstance(data, list | tuple) else data
