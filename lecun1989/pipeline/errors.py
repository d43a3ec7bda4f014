"""The pipeline's own errors: each one is printed as a single message and sets the exit code."""

import errno
import logging
import os
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


class MachineError(PipelineError):
    exit_code = 4  # the machine refused: a full disk, a read-only folder, a name too long
    label = "system error"


# What to do about an OSError, by its errno; anything else: its own words and "fix the cause".
OS_FIXES = {
    errno.ENAMETOOLONG: "a file name is longer than the file system allows: shorten the variant or dataset key in params.yaml",
    errno.ENOSPC: "the disk is full: free space and rerun",
    errno.EDQUOT: "the disk quota is used up: free space and rerun",
    errno.EROFS: "the folder is on a read-only file system: run from a writable checkout",
    errno.EACCES: "no permission: make the folder writable for this user (chmod u+w) and rerun",
    errno.EPERM: "not permitted: make the folder writable for this user and rerun",
}


def os_fix(e: OSError) -> str:
    """What to do about an OSError, by its errno."""
    return OS_FIXES.get(e.errno, "fix the cause and rerun")


def one_line(text: str) -> str:
    """text on one printable line: line breaks become spaces, other control characters are escaped."""
    flat = " ".join(str(text).splitlines())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in flat)


def explain(e: BaseException) -> PipelineError:
    """The one-line refusal of an exception that is not the pipeline's own."""
    if isinstance(e, OSError):
        where = f"{os.fsdecode(e.filename)!r}: " if e.filename is not None else ""
        return MachineError(f"{where}{e.strerror or e} ({errno.errorcode.get(e.errno, e.errno)}); {os_fix(e)}")
    if isinstance(e, UnicodeError):
        return MachineError(
            f"a path or text that is not UTF-8 ({e}): give the repository folder and its files UTF-8 names, or set a UTF-8 locale"
        )
    if isinstance(e, RecursionError | MemoryError):
        return MachineError(f"{type(e).__name__} ({e}): an input nested or sized beyond reason; check the files this stage reads")
    return MachineError(f"unexpected {type(e).__name__}: {e}; rerun with LECUN1989_TRACEBACK=1 to see where, and report it")


def run_stage(main, argv=None) -> None:
    """Run a stage's main(argv); any error becomes one line on stderr and an exit code: a
    PipelineError its own, any other exception (a full disk, a read-only folder, a name too long)
    explained by `explain`; LECUN1989_TRACEBACK=1 prints the traceback as well. The package's log
    lines (which engine trains, a fallback) go to stderr as plain lines. The stage ends when the
    process that started it does (lifetime.py)."""
    from lecun1989.pipeline import lifetime

    lifetime.follow_parent()
    log = logging.getLogger("lecun1989")  # the package's own lines only, not those of JAX or DVC
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    if hasattr(sys.stdout, "reconfigure"):  # a path that is not UTF-8 prints escaped, as on stderr
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        main(argv)
    except Exception as e:  # the boundary: no traceback reaches the user
        error = e if isinstance(e, PipelineError) else explain(e)
        if os.environ.get("LECUN1989_TRACEBACK") == "1":  # read here: every stage imports this module, not runtime.py
            import traceback

            traceback.print_exc()
        print(f"{error.label}: {one_line(error)}", file=sys.stderr)
        sys.exit(error.exit_code)
