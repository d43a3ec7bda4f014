"""A sweep over machines, end to end on this one (tools/sweep.py through its make targets, the steps of
.github/workflows/sweep.yml): a bare git repository is the shared git remote and a local folder the
DVC remote; two clones each run one experiment on the tiny pipeline and push it; a third pulls both,
shows them side by side, and `dvc exp apply` there restores an experiment's model from the DVC remote,
byte for byte what the clone that ran it trained."""

import json
import subprocess
import sys

import pipeline
import pytest
from pipeline import ROOT
from test_readme_commands import PLACEHOLDER, RUNNABLE, code_blocks, commands

SWEEP = [sys.executable, str(ROOT / "tools" / "sweep.py")]
ERROR = "metrics/lecun1989.json:test.error_pct.mean"  # a column of `dvc exp show --md`
MADE = "venv-of-the-tests"
# The commands of docs/scaling.md, run by the machines below: two run and push, the third pulls.
EXPERIMENTS = {"lr1e-2": "variants.lecun1989.lr=0.01", "lr2e-2": "variants.lecun1989.lr=0.02"}
RUN_AND_PUSH = {name: [f"make exp-run EXP='{name} {setting}'", f"make exp-push EXP={name}"] for name, setting in EXPERIMENTS.items()}
PULL_SHOW_APPLY = ["make exp-pull", "make exp-show", "dvc exp apply lr1e-2"]


def shell(repo, command: str, check=True, **variables) -> subprocess.CompletedProcess:
    """A command as docs/scaling.md writes it, run by bash in a clone with variables in the environment
    (as the workflow sets them). The clone has no .venv: the tests' venv is first on PATH, and a
    `make` is told that its environment is made (the only words added to the command)."""
    command = command.replace("make ", f"make -s STAMP={MADE} -o {MADE} ", 1) if command.startswith("make ") else command
    result = subprocess.run(["bash", "-c", command], cwd=repo, env={**pipeline.env(), **variables}, capture_output=True, text=True)
    if check and result.returncode:
        raise AssertionError(f"{command} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def sweep_cli(command, **variables) -> subprocess.CompletedProcess:
    env = {k: v for k, v in pipeline.env().items() if k not in ("EXP", "SWEEP")}
    return subprocess.run([*SWEEP, command], cwd=ROOT, env={**env, **variables}, capture_output=True, text=True)


def test_matrix_one_job_per_experiment():
    result = shell(
        ROOT, "make sweep-matrix", SWEEP="lr1e-2 variants.lecun1989.lr=0.01\n; two 'datasets.zip1989.draws=[42, 43]' variants.x=1 \n"
    )
    key, _, value = result.stdout.strip().partition("=")
    assert key == "matrix"
    assert json.loads(value) == {
        "exp": [
            {"name": "lr1e-2", "line": "lr1e-2 variants.lecun1989.lr=0.01"},
            {"name": "two", "line": "two 'datasets.zip1989.draws=[42, 43]' variants.x=1"},
        ]
    }


@pytest.mark.parametrize(
    "command, sweep, message",
    [
        ("matrix", "", "the sweep is empty"),
        ("matrix", "a x=1; a y=2", "names must differ: a appear"),
        ("matrix", "ok x=1\nb lr", "experiment b: setting 'lr' is not <key>=<value>"),
        ("matrix", "lr=0.1", "'lr=0.1' is not a name"),
        ("run", "", "no experiment given"),
        ("push", "-x", "'-x' is not a name"),
        ("run", "a 'x=1", "cannot read experiment"),
    ],
)
def test_a_bad_sweep_is_refused_in_one_line_before_any_work(command, sweep, message):
    result = sweep_cli(command, **({"SWEEP": sweep} if command == "matrix" else {"EXP": sweep}))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def exp_show_rows(markdown: str) -> dict[str, dict[str, str]]:
    """{experiment name: {column: value}} of `dvc exp show --md`."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        if "[" in cells["Experiment"]:
            rows[cells["Experiment"].split("[")[1].rstrip("]")] = cells
    return rows


def test_two_clones_push_a_third_pulls_shows_and_applies(tiny_repo, tmp_path):
    origin, git_remote, store = tiny_repo, tmp_path / "remote.git", tmp_path / "dvc-store"
    # The committed state of the shared repository: the tiny pipeline reproduced, its outputs in the store.
    pipeline.run(["dvc", "remote", "add", "-d", "store", str(store)], origin)
    pipeline.run(["git", "add", "-A"], origin)
    pipeline.run(["git", "commit", "-q", "-m", "reproduced"], origin)
    pipeline.run(["dvc", "push", "-q"], origin)
    pipeline.run(["git", "init", "-q", "--bare", "-b", "main", str(git_remote)], tmp_path)
    pipeline.run(["git", "push", "-q", str(git_remote), "HEAD:main"], origin)

    def clone(name):
        pipeline.run(["git", "clone", "-q", str(git_remote), name], tmp_path)
        return tmp_path / name

    trained = {}
    for machine, (name, (run_it, push_it)) in zip(("a", "b"), RUN_AND_PUSH.items(), strict=True):
        repo = clone(machine)
        ran = shell(repo, run_it)
        assert "Running stage 'train@lecun1989'" in ran.stdout and "Running stage 'train@change4" not in ran.stdout
        assert "Pulling data for stage: 'preprocess@zip1989'" in ran.stdout  # from the DVC remote, not rerun
        trained[name] = {p: (repo / p).read_bytes() for p in ("models/lecun1989.msgpack", "metrics/lecun1989.json")}
        if machine == "b":  # no DVC remote: git only, and a note saying so
            pipeline.run(["dvc", "remote", "default", "--unset"], repo)
        pushed = shell(repo, push_it)
        assert ("no default DVC remote: pushing lr2e-2's params and metrics (git) only" in pushed.stderr) == (machine == "b")
        refused = shell(repo, run_it.replace(name, "again", 1), check=False)  # params.yaml carries this experiment
        assert refused.returncode and "params.yaml differs from the commit: again would carry" in refused.stderr

    c = clone("c")
    assert not (c / "models" / "lecun1989.msgpack").exists() and not any((c / ".dvc").glob("cache/files/md5/*"))
    pull, show, apply = PULL_SHOW_APPLY
    pulled = shell(c, pull, check=False)  # lr2e-2's models are in no DVC remote
    assert "lr1e-2" in pulled.stdout and "lr2e-2" in pulled.stdout, pulled.stdout + pulled.stderr
    rows = exp_show_rows(shell(c, show).stdout)
    assert set(rows) == set(EXPERIMENTS)
    for name in EXPERIMENTS:  # each pushed experiment's own metric, as its clone wrote it
        test_error = json.loads(trained[name]["metrics/lecun1989.json"])["test"]["error_pct"]["mean"]
        assert float(rows[name][ERROR]) == pytest.approx(test_error, rel=1e-4), (name, rows[name][ERROR])
    shell(c, apply)
    assert (c / "models/lecun1989.msgpack").read_bytes() == trained["lr1e-2"]["models/lecun1989.msgpack"]
    assert (c / "metrics/lecun1989.json").read_bytes() == trained["lr1e-2"]["metrics/lecun1989.json"]


def without_comment(command: str) -> str:
    return command.split("  #")[0].strip()


def test_every_command_of_docs_scaling_runs_in_a_test_or_shows_its_placeholders():
    tested = {without_comment(c) for c in [*sum(RUN_AND_PUSH.values(), []), *PULL_SHOW_APPLY, *sum(RUNNABLE, [])]}
    shown = [without_comment(c) for _, body, _ in code_blocks((ROOT / "docs" / "scaling.md").read_text()) for c in commands(body)]
    assert len(shown) >= 10
    for command in shown:
        assert command in tested or PLACEHOLDER.search(command), f"docs/scaling.md: not run by a test, no placeholder: {command}"
