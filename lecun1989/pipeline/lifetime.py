"""A stage lives no longer than the process that started it. DVC does not stop a stage when `dvc`
itself is killed: the orphan would go on and, minutes later, replace outputs that a newer run has
written. A watcher thread sees the starting process end (this process is handed to another parent;
when a shell sits between DVC and the stage, the shell is) and kills the stage, never in the middle
of replacing its outputs (atomic.staged commits while holding COMMITTING)."""

import os
import signal
import threading
import time
from pathlib import Path

SHELLS = {"sh", "bash", "dash", "zsh", "fish", "ksh"}  # what DVC runs a stage's cmd with ($SHELL -c)
POLL_S = 0.2
COMMITTING = threading.Lock()


def _parent_of(pid: int) -> int | None:
    """The parent pid of `pid` from /proc (Linux), None where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _name_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _started_by() -> tuple[int, int | None]:
    """(parent, grandparent): the grandparent when the parent is a shell, the process that ran it."""
    parent = os.getppid()
    grandparent = _parent_of(parent) if _name_of(parent) in SHELLS else None
    return parent, grandparent if grandparent not in (None, 0, 1) else None


def _ended(parent: int, grandparent: int | None) -> bool:
    return os.getppid() != parent or (grandparent is not None and _parent_of(parent) != grandparent)


def follow_parent() -> None:
    """Start the watcher: once the process that started this one has ended, this one ends too."""
    parent, grandparent = _started_by()
    if parent == 1:  # started by init (a daemon): nothing to follow
        return

    def watch():
        while not _ended(parent, grandparent):
            time.sleep(POLL_S)
        with COMMITTING:  # let a commit in progress finish: never a half-replaced set of outputs
            os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()
