"""A key of params.yaml never runs as shell code, whichever way DVC starts its stage: DVC pastes
${key} into the command's text unquoted, so every stage whose command holds one first runs the
params check, which refuses a key that is not a plain name before the line holding it runs. Each
case runs DVC on a private copy of the reproduced tiny pipeline and asserts that the code in the key
did not run (no marker file) and that no output changed."""

import pipeline
import pytest
import yaml

pytestmark = pytest.mark.pipeline  # runs DVC as a process

PROTECTED = ("data", "models", "metrics")
MARKER = "pwned"  # what the key's code would create in the folder the stage runs in
KEYS = {  # a variant key that runs `touch pwned` in a shell
    "semicolon": f"x;touch {MARKER};",
    "command-substitution": f"q$(touch {MARKER})",
    "backtick": f"q`touch {MARKER}`",
    "newline": f"q\ntouch {MARKER}",
}
ENTRY_POINTS = {  # DVC commands that start one stage without the check_params stage before it
    "repro -s": ["dvc", "repro", "-s"],
    "repro --downstream": ["dvc", "repro", "--downstream"],
    "exp run -s": ["dvc", "exp", "run", "-s"],
}


def snapshot(repo) -> dict:
    return {folder: pipeline.tree_bytes(repo / folder) for folder in PROTECTED}


@pytest.mark.parametrize(
    "entry, key",
    [("repro -s", k) for k in KEYS] + [("repro --downstream", "semicolon"), ("exp run -s", "command-substitution")],
)
def test_a_key_that_is_shell_code_never_runs(tiny_repo, entry, key):
    key = KEYS[key]
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    params["variants"][key] = params["variants"]["lecun1989"]
    pipeline.write_params(tiny_repo, params)
    pipeline.run(["git", "commit", "-qam", "a variant whose key is shell code"], tiny_repo)  # dvc exp run starts from a commit
    before = snapshot(tiny_repo)
    result = pipeline.run([*ENTRY_POINTS[entry], f"train@{key}"], tiny_repo, check=False)
    out = result.stdout + result.stderr
    assert not (tiny_repo / MARKER).exists(), f"the key's code ran:\n{out}"
    assert snapshot(tiny_repo) == before
    assert result.returncode != 0, out
    assert "python -m lecun1989.pipeline.params params.yaml" in out, out  # DVC started the stage's commands
    assert "params error: params.yaml: variants." in out and "String should match pattern" in out, out
