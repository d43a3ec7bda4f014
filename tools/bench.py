"""Side-by-side speed of batch-1 training and preprocessing: `make bench`.

Every case runs in its own fresh process, REPS times; each process reports its best rate over a few
timed repetitions, after compilation. Printed: min and median over processes, and ratios (medians)
against two baselines measured in the same run: the seed notebook's way of training (a Python loop
over a jitted batch-1 step of the Flax model) and of preprocessing (one jax.image.resize and one
.at[i].set per image). The training cases run alternately (one process of each case per round), so
that a busy shared machine slows them alike. Uses data/prepared/zip1989/draw_42 and data/MNIST/raw when present, else
random digits. `epoch_vs_kernel`: for lecun1989 and change4_relu_dropout, one seed's training epoch
through the pipeline's path (Trainer.train_epoch: the jitted native epoch with everything around it,
on a thread) over the kernel alone (the same variant without shifts and dropout, so nothing drawn,
its jitted native epoch called directly), alternately in one process, the best of 6 each in the
process's CPU time (wall time on a shared machine measures the neighbours); the kernel's own work
for dropout (masking H2 forward and backward) counts as overhead.
`--flags` instead compares XLA flag sets on the single-seed case.
`--vectorized` instead compares the two ways of training many seeds: one program per seed on
threads against the seeds vmapped in one program, sharded over all devices
(lecun1989/training/vectorized.py; the default on a GPU); `--devices N` forces N host devices on a
CPU for it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "seed_loop": "baseline: Python loop of one jitted batch-1 step (seed-style), 1 seed",
    "scan_flax": "one lax.scan per epoch of the Flax model (the reference engine), 1 seed",
    "fast_k1": "fast XLA engine, 1 seed",
    "fast_k4": "fast XLA engine, 4 seeds (one program per seed, a thread per core)",
    "fast_k16": "fast XLA engine, 16 seeds (one program per seed, a thread per core)",
    "native_k1": "native C++ engine, 1 seed",
    "native_k4": "native C++ engine, 4 seeds (a thread per core)",
    "native_k16": "native C++ engine, 16 seeds (a thread per core)",
    "vec_k16": "vectorized: 16 seeds vmapped in one program, sharded over all devices",
    "vec_k64": "vectorized: 64 seeds vmapped in one program, sharded over all devices",
    "epochs23": "lecun1989: 23 epochs + per-epoch evaluation of train and test, 1 seed, default engine (s, not /s)",
    "row_k9": "9 runs of lecun1989 side by side (all on draw 42), 23 epochs + per-epoch evaluation, default engine and runs (s)",
    "prep_seed": "baseline: preprocessing, one resize and .at[i].set per image (seed-style)",
    "prep_fast": "preprocessing of all 9,298 digits in one call (lecun1989/data/preprocessing.py)",
    "epoch_vs_kernel_lecun1989": "lecun1989: native epoch through the pipeline's path over the kernel alone, per step (ratio)",
    "epoch_vs_kernel_change4_relu_dropout": "change4_relu_dropout: the same (ratio)",
}
KERNEL_VARIANTS = ("lecun1989", "change4_relu_dropout")
TRAINING = ("seed_loop", "scan_flax", "fast_k1", "native_k1", "fast_k4", "native_k4", "fast_k16", "native_k16")
MULTIPLY_ADDS = 181_540  # per step: 63,660 forward, 108,120 backward, 9,760 in the update
FLAG_SETS = {
    "none (XLA defaults)": "",
    "eigen 1 thread": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "eigen 1 thread + YNNPACK fusion off": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1 --xla_cpu_experimental_ynn_fusion_type=",
    "YNNPACK fusion off": "--xla_cpu_experimental_ynn_fusion_type=",
    "YNNPACK for matmuls only": "--xla_cpu_experimental_ynn_fusion_type=dot",
    "eigen 1 thread + YNNPACK for matmuls only": "--xla_cpu_multi_thread_eigen=false --xla_cpu_experimental_ynn_fusion_type=dot",
}


def train_data(n_seeds: int):
    import jax.numpy as jnp
    import numpy as np

    draw = ROOT / "data/prepared/zip1989/draw_42"  # the 1989-sized set of the first draw
    if (draw / "manifest.json").exists():
        from lecun1989.data import prepared

        d = prepared.load(draw)
        splits = {s: (jnp.asarray(d[s]["x"]), jnp.asarray(d[s]["y"].astype(np.int32))) for s in d}
    else:
        rng = np.random.default_rng(0)
        splits = {
            s: (jnp.asarray(rng.uniform(-1, 1, (n, 16, 16)).astype(np.float32)), jnp.asarray(rng.integers(0, 10, n).astype(np.int32)))
            for s, n in (("train", 7291), ("test", 2007))
        }
    return splits


def variant(name: str = "lecun1989", **changes):
    from lecun1989.pipeline.schema import Variant, load_params

    return Variant.model_validate({**load_params(ROOT / "params.yaml").variants[name].model_dump(), **changes})


def reference_engine(v, n_train: int):
    """The tests' reference engine (tests/reference_engine.py): the Flax model trained by optax."""
    sys.path.insert(0, str(ROOT / "tests"))
    from reference_engine import ReferenceEngine

    return ReferenceEngine(v, n_train)


def runs(k: int, n_train: int, engine="auto", name: str = "lecun1989"):
    """The pipeline's executor of k runs (seeds 0 .. k-1) of a variant, on the requested engine (a name, or an Engine)."""
    from lecun1989.training.runs import Trainer

    return Trainer(variant(name), n_train, list(range(k)), engine, name=name)


def epoch_vs_kernel(name: str) -> float:
    """One seed's epoch through Trainer.train_epoch over the jitted native epoch of the variant without
    shifts and dropout (nothing drawn), per step; best CPU time of 6 each, alternately."""
    import jax
    import jax.numpy as jnp

    from lecun1989.training import schedule
    from lecun1989.training.engines import make_engine

    X, Y = train_data(1)["train"]
    pipeline = runs(1, len(Y), "native", name)
    assert pipeline.engine.name == "native", pipeline.engine.name
    states = pipeline.train_epoch(pipeline.init(), 0, X, Y)
    kernel = make_engine("native", variant(name, shift_pixels=0, dropout=0.0), len(Y))
    state, scalars = kernel.init(0), schedule.step_scalars(kernel.variant, len(Y), 1, len(Y))
    epoch = lambda state, e, X, Y: kernel.kernel(state, jnp.int32(e), X, Y, scalars)
    jax.block_until_ready(epoch(state, 0, X, Y))
    best = {"pipeline": float("inf"), "kernel": float("inf")}
    for _ in range(6):
        best["pipeline"] = min(best["pipeline"], timed(lambda: pipeline.train_epoch(states, 1, X, Y), 1, time.process_time))
        best["kernel"] = min(best["kernel"], timed(lambda: jax.block_until_ready(epoch(state, 1, X, Y)), 1, time.process_time))
    return best["pipeline"] / best["kernel"]


def timed(fn, reps: int, clock=time.perf_counter) -> float:
    """Best time of reps calls of fn (which blocks until its result is ready): wall time, or clock's."""
    best = float("inf")
    for _ in range(reps):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def run_case(case: str) -> float:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from lecun1989 import runtime

    runtime.configure()  # XLA's flags and the compile cache, as the stages have them
    if case.startswith("epoch_vs_kernel_"):
        return epoch_vs_kernel(case.removeprefix("epoch_vs_kernel_"))
    if case.startswith("prep"):
        from lecun1989.data.preprocessing import to_16x16

        raw = ROOT / "data/MNIST/raw"
        if raw.exists():
            from lecun1989.data import idx

            r = idx.read_raw(raw)
            images = np.concatenate([r["train_images"][:7291], r["test_images"][:2007]])
        else:
            images = np.random.default_rng(0).integers(0, 256, (9298, 28, 28), dtype=np.uint8)
        if case == "prep_fast":
            to_16x16(images[:10], True)  # compile the small case's ops once; the full call compiles its own
            return len(images) / timed(lambda: to_16x16(images, True), 3)
        n = 500  # the seed's loop is quadratic (.at[i].set copies the array): a prefix flatters it
        images = images[:n]

        def seed_style():
            x = jnp.zeros((n, 16, 16))
            for i in range(n):
                img = jax.image.resize(jnp.asarray(images[i], jnp.float32) / 127.5 - 1.0, (16, 16), "bilinear")
                x = x.at[i].set(img)
            x.block_until_ready()

        return n / timed(seed_style, 2)

    splits = train_data(1)
    X, Y = splits["train"]
    if case == "seed_loop":
        ref = reference_engine(variant(), len(Y))
        state = ref.init(0)

        @jax.jit
        def step(params, opt_state, x, y):
            grads = jax.grad(lambda p: ref.loss(ref.net.apply({"params": p}, x[None]), y[None]).mean())(params)
            updates, opt_state = ref.tx.update(grads, opt_state, params)
            return jax.tree.map(lambda p, u: p + u, params, updates), opt_state

        n = 1500
        Xn, Yn = np.asarray(X), np.asarray(Y)  # per-sample slices of host arrays, as the seed does

        def loop():
            p, o = state.params, state.opt
            for i in range(n):
                p, o = step(p, o, Xn[i], Yn[i])
            jax.block_until_ready(p)

        loop()
        return n / timed(loop, 3)

    if case in ("epochs23", "row_k9"):
        from lecun1989.evaluation.epoch_scores import train_and_score

        trainer = runs(9 if case == "row_k9" else 1, len(Y), runtime.engine())
        state0 = trainer.init()
        train_and_score(trainer, state0, 0, X, Y, splits)  # compile

        def run():
            state = state0
            for epoch in range(23):
                state, _ = train_and_score(trainer, state, epoch, X, Y, splits)  # as the train stage

        return timed(run, 1)

    k = int(case.split("_k")[1]) if "_k" in case else 1
    os.environ["LECUN1989_RUNS"] = "vectorized" if case.startswith("vec") else "threads"
    trainer = runs(k, len(Y), reference_engine(variant(), len(Y)) if case == "scan_flax" else runtime.engine())
    assert trainer.engine.name == {"scan": "reference", "fast": "xla", "vec": "xla", "native": "native"}[case.split("_")[0]], trainer.engine
    state = trainer.init()
    state = jax.block_until_ready(trainer.train_epoch(state, 0, X, Y))
    return k * len(Y) / timed(lambda: jax.block_until_ready(trainer.train_epoch(state, 1, X, Y)), 2 if k < 16 else 1)


def compare_vectorized(reps: int, devices: int):
    """Threads against vectorized, many seeds, in the same run (on a GPU, or forced CPU devices)."""
    env = dict(os.environ)
    if devices:
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}".strip()
    import jax

    forced = f"; the cases run with {devices} forced CPU devices" if devices else ""
    print(f"devices: {jax.device_count()} {jax.default_backend()} in this process{forced}")
    print("| case | seed-samples/s min | median |\n|---|---:|---:|")
    results = {}
    for case in ("fast_k16", "vec_k16", "vec_k64"):
        v = results[case] = measure(case, reps, env)
        print(f"| {CASES[case]} | {min(v):,.0f} | {statistics.median(v):,.0f} |", flush=True)
    print(f"vectorized_vs_threads_k16: {statistics.median(results['vec_k16']) / statistics.median(results['fast_k16']):.2f}")


def measure(case: str, reps: int, env=None) -> list[float]:
    env = dict(env or os.environ)
    if case.startswith(("fast", "native")):  # the engine a case names, never a fall-back
        env["LECUN1989_ENGINE"] = case.split("_")[0].replace("fast", "xla")
    out = []
    for _ in range(reps):
        p = subprocess.run([sys.executable, __file__, "--case", case], capture_output=True, text=True, env=env)
        if p.returncode:
            sys.exit(f"case {case} failed:\n{p.stderr}")
        out.append(json.loads(p.stdout.strip().splitlines()[-1])["value"])
    return out


def cpu_mhz() -> float:
    return next((float(line.split(":")[1]) for line in open("/proc/cpuinfo") if line.startswith("cpu MHz")), float("nan"))


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    import jax

    return f"{os.cpu_count()} CPUs, {model}; jax {jax.__version__}; load average {os.getloadavg()[0]:.1f} at start"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("--reps", type=int, default=5, help="processes per case")
    parser.add_argument("--flags", action="store_true", help="compare XLA flag sets instead (on --flags-case)")
    parser.add_argument("--flags-case", default="fast_k1", choices=CASES)
    parser.add_argument("--vectorized", action="store_true", help="compare threads and vectorized seeds instead")
    parser.add_argument("--devices", type=int, default=0, help="with --vectorized: force this many CPU devices")
    args = parser.parse_args()
    if args.case:
        print(json.dumps({"case": args.case, "value": run_case(args.case)}))
        return

    print(f"machine: {machine()}; {args.reps} processes per case")
    if args.flags:
        for name, flags in FLAG_SETS.items():
            env = {**os.environ, "LECUN1989_XLA_FLAGS": "0", "XLA_FLAGS": flags}
            v = measure(args.flags_case, args.reps, env)
            print(f"| {name} | {min(v):,.0f} | {statistics.median(v):,.0f} | {max(v):,.0f} |", flush=True)
        return
    if args.vectorized:
        compare_vectorized(args.reps, args.devices)
        return

    results = {case: [] for case in TRAINING}
    for _ in range(args.reps):  # alternately: one process of each case per round
        for case in TRAINING:
            results[case] += measure(case, 1)
    med = {case: statistics.median(v) for case, v in results.items()}
    print("| case | samples/s min | median | x seed loop (median) |\n|---|---:|---:|---:|")
    for case in TRAINING:
        v = results[case]
        print(f"| {CASES[case]} | {min(v):,.0f} | {med[case]:,.0f} | {med[case] / med['seed_loop']:.1f} |", flush=True)
    for case in ("prep_seed", "prep_fast"):
        v = results[case] = measure(case, args.reps)
        ratio = statistics.median(v) / statistics.median(results["prep_seed"])
        print(f"| {CASES[case]} | {min(v):,.0f} | {statistics.median(v):,.0f} | {ratio:.0f} (x seed preprocessing) |", flush=True)
    for name in KERNEL_VARIANTS:
        v = results[name] = measure(f"epoch_vs_kernel_{name}", args.reps)
        print(f"{CASES[f'epoch_vs_kernel_{name}']}: {min(v):.3f} min, {statistics.median(v):.3f} median", flush=True)
    v = measure("epochs23", args.reps)
    print(f"lecun1989 23 epochs + per-epoch evaluation, 1 seed, after compilation: {min(v):.2f} s min, {statistics.median(v):.2f} s median")
    us, mhz = 1e6 / med["native_k1"], cpu_mhz()
    ceiling = MULTIPLY_ADDS / 16 / mhz  # 16 multiply-adds per cycle: two 8-wide FMAs (AVX2) or one 16-wide (AVX-512)
    print(
        f"native engine, 1 seed: {us:.2f} us per step (median); FMA ceiling {ceiling:.2f} us at {mhz:.0f} MHz: {100 * ceiling / us:.0f} %"
    )
    print(f"epoch_vs_kernel: {statistics.median(results['lecun1989']):.3f}")
    print(f"epoch_vs_kernel_change4_relu_dropout: {statistics.median(results['change4_relu_dropout']):.3f}")
    print(f"native_vs_xla_16_seeds: {med['native_k16'] / med['fast_k16']:.2f}")
    print(f"native_vs_xla: {med['native_k1'] / med['fast_k1']:.2f}")
    print(f"speedup_vs_seed_loop: {max(med['native_k1'], med['fast_k1']) / med['seed_loop']:.1f}")


if __name__ == "__main__":
    main()
