"""The pipeline's own errors: each one is printed as a single message and sets the exit code."""

import logging
import sys


class PipelineError(Exception):
    exit_code = 1
    label = "error"


class ParamsError(PipelineError):
    exit_code = 2  # bad params.yaml: refused before any output is written
    label = "params error"


class DataError(PipelineError):
    label = "data error"


class DivergenceError(PipelineError):
    label = "training diverged"


class NotLearnedError(PipelineError):
    label = "training did not learn"


class OutputError(PipelineError):
    exit_code = 3  # an output path that holds something else, or an output that could not be written
    label = "output error"


def run_stage(main, argv=None) -> None:
    """Run a stage's main(argv); a PipelineError becomes one line on stderr and its exit code. The
    package's log lines (which engine trains, a fallback) go to stderr as plain lines. The stage
    ends when the process that started it does (lifetime.py)."""
    from lecun1989.pipeline import lifetime

    lifetime.follow_parent()
    log = logging.getLogger("lecun1989")  # the package's own lines only, not those of JAX or DVC
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    try:
        main(argv)
    except PipelineError as e:
        print(f"{e.label}: {' '.join(str(e).splitlines())}", file=sys.stderr)
        sys.exit(e.exit_code)
