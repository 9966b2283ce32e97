"""manifest.errors: the committed model.json files pass models/manifest.schema.json; a wrong type,
an unknown key and a value out of range are each reported with their JSON path."""
import copy
import json
import os

import pytest

from foresight_training import manifest
from foresight_training.paths import MODELS


@pytest.fixture(scope="module")
def beauty():
    with open(os.path.join(MODELS, "beauty", "model.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("model", ["beauty", "diginetica"])
def test_the_shipped_models_are_valid(model):
    with open(os.path.join(MODELS, model, "model.json")) as f:
        assert manifest.errors(json.load(f)) == []


def test_a_wrong_type_is_named_by_its_path(beauty):
    meta = copy.deepcopy(beauty)
    meta["dim"] = "64"
    assert manifest.errors(meta) == ["$.dim: '64' is not of type 'integer'"]


def test_every_error_is_listed(beauty):
    meta = copy.deepcopy(beauty)
    meta["promoted"] = True
    meta["scorer"]["markovItems"] = 0
    assert manifest.errors(meta) == [
        "$: Additional properties are not allowed ('promoted' was unexpected)",
        "$.scorer.markovItems: 0 is less than or equal to the minimum of 0",
    ]


def test_the_cli_exits_1_when_a_file_is_invalid(tmp_path, capsys, beauty):
    bad = tmp_path / "model.json"
    bad.write_text(json.dumps({**beauty, "dim": -1}))
    good = os.path.join(MODELS, "beauty", "model.json")
    assert manifest.main([good, str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{good}: valid"
    assert lines[1].startswith(f"{bad}: invalid: $.dim: -1 is less than")
