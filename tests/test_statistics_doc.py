"""docs/statistics.md's independent-runs experiment: its -S settings are valid params, retrain every
variant, and share no draw and no seed with the committed runs (the experiment itself retrains the
whole table, too costly for a test). test_docs.py holds docs/independent-runs.md to what its report
command writes from the committed metrics folders."""

import re
import shlex

import yaml
from pipeline import ROOT

from lecun1989.pipeline.schema import load_params

DOC = (ROOT / "docs/statistics.md").read_text()


def experiment_settings() -> dict[str, str]:
    command = re.search(r"^    (dvc exp run -n independent .*?)(?<!\\)\n", DOC, re.S | re.M).group(1).replace("\\\n", " ")
    words = shlex.split(command)
    return dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "-S")


def with_settings(params: dict, settings: dict[str, str]) -> dict:
    for key, value in settings.items():
        *path, last = key.split(".")
        node = params
        for part in path:
            node = node[part]
        assert last in node, f"-S {key}: not a key of params.yaml"
        node[last] = yaml.safe_load(value)
    return params


def test_the_independent_experiment_retrains_every_row_on_other_draws_and_seeds(tmp_path):
    committed = load_params(ROOT / "params.yaml")
    edited = tmp_path / "params.yaml"
    edited.write_text(
        yaml.safe_dump(with_settings(yaml.safe_load((ROOT / "params.yaml").read_text()), experiment_settings()), sort_keys=False)
    )
    other = load_params(edited)  # the schema accepts the settings
    assert list(other.variants) == list(committed.variants)
    for name in committed.variants:
        here, there = committed.runs(name), other.runs(name)
        assert {d for d, _ in here}.isdisjoint(d for d, _ in there), f"{name}: a draw in both"
        assert {s for _, s in here}.isdisjoint(s for _, s in there), f"{name}: a seed in both"
        assert len(there) == len(here), f"{name}: not as many runs as the committed row"
