"""A sweep over machines with DVC's own experiment sharing: each machine runs experiments by name and
pushes them (the experiment's git ref to a git remote, its models and data to the DVC remote); any
clone then pulls them all and shows them side by side. .github/workflows/sweep.yml runs one
experiment per job through the make targets that call this script:

    make exp-run  EXP='<name> <setting> ...'   dvc exp run -n <name> -S <setting> ... in the workspace
    make exp-push EXP='<name> ...'             dvc exp push $GIT_REMOTE <name>
    make exp-pull                              dvc exp pull $GIT_REMOTE (every experiment of HEAD)
    make exp-show                              dvc exp show --md --only-changed
    make -s sweep-matrix                       $SWEEP as GitHub's job matrix: matrix={"exp": [...]}

An experiment is one line: its name, then its `dvc exp run -S` settings, shell-quoted where a value
holds spaces, e.g. `lr1e-2 variants.lecun1989.lr=0.01`. A sweep ($SWEEP) is experiments one a line
or separated by `;` (GitHub's form takes one line). GIT_REMOTE: a git remote name or URL (default
origin). Models go to the DVC remote only when one is the default (`dvc remote add -d`); without
one, exp-push pushes params and metrics only and says so, and exp-run reruns every stage whose
outputs this clone lacks (in a fresh clone: the whole pipeline).

Standard library only: sweep-matrix runs before any environment is installed.
"""

import json
import os
import re
import shlex
import subprocess
import sys

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")  # a valid git ref component and dvc exp name
GO_BACK = "git checkout -- params.yaml dvc.lock metrics README.md docs/statistics.md && dvc checkout"


def fail(message: str):
    raise SystemExit(f"sweep: {message}")


def parse(line: str) -> tuple[str, list[str]]:
    """'<name> <setting> ...' -> (name, settings), or one line naming what is wrong."""
    try:
        words = shlex.split(line)
    except ValueError as e:
        fail(f"cannot read experiment {line!r} ({e}): write '<name> <key>=<value> ...', quoting values with spaces")
    if not words:
        fail("no experiment given: set EXP='<name> <key>=<value> ...', e.g. EXP='lr1e-2 variants.lecun1989.lr=0.01'")
    name, settings = words[0], words[1:]
    if not NAME.match(name) or "=" in name:
        fail(f"experiment name {name!r} is not a name: start with a letter or digit, then letters, digits, '.', '_' or '-'")
    for setting in settings:
        if "=" not in setting.strip("="):
            fail(f"experiment {name}: setting {setting!r} is not <key>=<value> (e.g. variants.lecun1989.lr=0.01)")
    return name, settings


def sweep(text: str) -> list[tuple[str, list[str]]]:
    """Every experiment of a sweep, names unique; refused whole if any line is wrong."""
    experiments = [parse(line) for line in re.split(r"[\n;]", text) if line.strip()]
    if not experiments:
        fail("the sweep is empty: give one experiment a line, '<name> <key>=<value> ...'")
    names = [name for name, _ in experiments]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        fail(f"experiment names must differ: {', '.join(twice)} appear more than once")
    return experiments


def dvc(*args: str) -> None:
    print("+ dvc " + shlex.join(args), file=sys.stderr, flush=True)
    if subprocess.run(["dvc", *args]).returncode:
        fail(f"dvc {args[0]} {args[1]} failed (its message is above)")


def dvc_remote() -> str | None:
    """The default DVC remote's name, or None when there is none."""
    result = subprocess.run(["dvc", "remote", "default"], capture_output=True, text=True)
    if result.returncode:  # "No default remote set"
        return None
    return result.stdout.strip() or None


def no_remote_note(what: str) -> None:
    print(
        f"sweep: no default DVC remote: {what} (`dvc remote add -d <name> <url>` shares them; see docs/scaling.md)",
        file=sys.stderr,
    )


def run(line: str) -> None:
    name, settings = parse(line)
    changed = subprocess.run(["git", "status", "--porcelain", "--", "params.yaml"], capture_output=True, text=True)
    if changed.returncode or changed.stdout.strip():
        fail(f"params.yaml differs from the commit: {name} would carry those changes too; go back first: {GO_BACK}")
    pull = ["--pull"] if dvc_remote() else []
    if not pull:
        no_remote_note("every stage whose outputs this clone lacks reruns here")
    dvc("exp", "run", *pull, "-n", name, *[arg for s in settings for arg in ("-S", s)])


def push(line: str, git_remote: str) -> None:
    name, _ = parse(line)
    if dvc_remote():
        dvc("exp", "push", git_remote, name)
    else:
        no_remote_note(f"pushing {name}'s params and metrics (git) only; its models stay on this machine")
        dvc("exp", "push", "--no-cache", git_remote, name)


def pull(git_remote: str) -> None:
    if dvc_remote():
        dvc("exp", "pull", git_remote)
    else:
        no_remote_note("pulling params and metrics (git) only")
        dvc("exp", "pull", "--no-cache", git_remote)


def matrix(text: str) -> None:
    """One line for $GITHUB_OUTPUT: matrix={"exp": [{"name": ..., "line": ...}, ...]}."""
    experiments = [{"name": name, "line": shlex.join([name, *settings])} for name, settings in sweep(text)]
    print("matrix=" + json.dumps({"exp": experiments}, separators=(",", ":")))


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    commands = ("run", "push", "pull", "show", "matrix")
    if len(args) != 1 or args[0] not in commands:
        fail(f"give one command, {' | '.join(commands)} (the make targets exp-run ... call it; see this file's docstring)")
    line, git_remote = os.environ.get("EXP", ""), os.environ.get("GIT_REMOTE") or "origin"
    {
        "run": lambda: run(line),
        "push": lambda: push(line, git_remote),
        "pull": lambda: pull(git_remote),
        "show": lambda: dvc("exp", "show", "--md", "--only-changed"),
        "matrix": lambda: matrix(os.environ.get("SWEEP", "")),
    }[args[0]]()


if __name__ == "__main__":
    main()
