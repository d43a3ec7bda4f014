"""Which engine computes a variant's runs: the stage's request (runtime.engine(): auto, native or
xla) against what this machine can run. The evaluate stage asks it too, for the forward pass."""

from lecun1989.pipeline.errors import PipelineError


def choose(variant, requested: str, vectorized: bool) -> tuple[str, str]:
    """(engine, why not native or ""): requested is auto (native where it can run, else xla), native or xla."""
    from lecun1989.training.native import library

    if requested == "xla":
        return "xla", ""
    why_not = (
        "runs are vectorized (LECUN1989_RUNS), the native engine trains one run per thread" if vectorized else library.problem(variant)
    )
    if not why_not:
        return "native", ""
    if requested == "native":
        raise PipelineError(f"LECUN1989_ENGINE=native, but {why_not}; set LECUN1989_ENGINE=xla (or unset it) to train on the XLA engine")
    return "xla", why_not
