"""A refused params edit costs nothing: the check_params stage validates the whole params.yaml
before DVC deletes any stage's outputs, so `dvc repro` fails naming the key and every file under
data/, models/ and metrics/ (and dvc.lock) is byte-identical to before."""

import pipeline
import pytest
import yaml

PROTECTED = ("data", "models", "metrics")


def snapshot(repo) -> dict:
    files = {folder: pipeline.tree_bytes(repo / folder) for folder in PROTECTED}
    files["dvc.lock"] = (repo / "dvc.lock").read_bytes()
    return files


CASES = [  # edit of params.yaml, words of the refusal
    (lambda p: p["variants"]["lecun1989"].update(lr=-1), ["variants.lecun1989.lr = -1", "greater than 0"]),
    (lambda p: p.update(colour="blue"), ["colour = 'blue'", "unknown key"]),
    (lambda p: p["variants"]["change4_relu_dropout"].update(n_seeds=0), ["variants.change4_relu_dropout.n_seeds = 0"]),
    (lambda p: p["variants"]["lecun1989"].update(learning_rate=0.1), ["variants.lecun1989.learning_rate", "unknown key"]),
    (lambda p: p["variants"]["lecun1989"].update(lr=float("nan")), ["variants.lecun1989.lr = nan", "finite number"]),
]


@pytest.mark.parametrize("edit, words", CASES, ids=["lr-1", "top-level-key", "n_seeds0", "typo-key", "nan"])
def test_refused_edit_fails_repro_and_changes_no_output(tiny_repo, edit, words):
    before = snapshot(tiny_repo)
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    edit(params)
    pipeline.write_params(tiny_repo, params)

    result = pipeline.run(["dvc", "repro"], tiny_repo, check=False)
    assert result.returncode != 0, result.stdout
    assert "params error: " in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, f"{word!r} not in: {result.stderr}"
    assert "Running stage 'check_params'" in result.stdout and result.stdout.count("Running stage") == 1, result.stdout
    after = snapshot(tiny_repo)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], f"{name} changed by a refused run"
