"""The blog's 50,000-digit rows (docs/rows-50k.yaml) merge into params.yaml as the README says and
pass the schema: same test digits and draws as zip1989, so they pair with its rows."""

import yaml
from pipeline import ROOT

from lecun1989.pipeline.params import load_params


def test_the_50k_rows_merge_into_valid_params(tmp_path):
    params, rows = (yaml.safe_load((ROOT / name).read_text()) for name in ("params.yaml", "docs/rows-50k.yaml"))
    params["datasets"].update(rows["datasets"])  # as the README's command does
    params["variants"].update(rows["variants"])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    p = load_params(tmp_path / "params.yaml")
    assert p.datasets["mnist50k"].n_train == 50000 and p.datasets["mnist50k"].draws == p.datasets["zip1989"].draws
    assert p.baseline_of("lecun1989_50k") == "lecun1989" and p.variants["lecun1989_50k"].epochs == 100
    assert p.baseline_of("change4_50k") == "change4_relu_dropout"
