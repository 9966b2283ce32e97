"""The purchase-intent model's data reader (intent/sessions.py) on the head of the real UCI file, its
splits, its export (intent.onnx, run by the numpy interpreter, reproduces PyTorch) and its README."""
import hashlib
import json
import os

import numpy as np
import pytest
import torch

from foresight_training.contract import INTENT
from foresight_training.intent.classifier import MLP, IntentModel, Preprocess
from foresight_training.intent.model_dir import TOLERANCE, check_parity, export_onnx, probes
from foresight_training.intent.readme import render
from foresight_training.intent.sessions import FEATURES, load, stratified_split
from foresight_training.paths import MODELS, ROOT

UCI = os.path.join(ROOT, "..", "shared", "data", "uci-shoppers", "online_shoppers_intention.csv")
ROWS = 400


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """The real file's header and first ROWS sessions."""
    with open(UCI) as f:
        lines = [line for _, line in zip(range(ROWS + 1), f)]
    path = tmp_path_factory.mktemp("uci") / "head.csv"
    path.write_text("".join(lines))
    return path


def test_load_reads_the_raw_features_in_contract_order(head):
    sessions = load(str(head))
    assert sessions.x.shape == (ROWS, len(FEATURES)) and sessions.x.dtype == np.float32
    assert sessions.y.shape == (ROWS,) and set(sessions.y.tolist()) == {0, 1}
    # line 2: 0;0;0;0;1;0;0.2;0.2;0;0;Feb;1;1;1;1;Returning_Visitor;FALSE;FALSE
    assert sessions.x[0].tolist() == pytest.approx([0, 0, 0, 0, 1, 0, 0.2, 0.2, 0, 0, 2, 1, 1, 1, 1, 0, 0])
    assert sessions.y[0] == 0
    assert sessions.sha256 == hashlib.sha256(head.read_bytes()).hexdigest()


def test_load_names_the_line_and_column_of_a_bad_value(tmp_path, head):
    lines = head.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(";Feb;", ";Foo;")
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines[:5]))
    with pytest.raises(ValueError, match="line 3: column Month has unexpected value 'Foo'"):
        load(str(bad))


def test_a_stratified_split_partitions_the_rows_and_spreads_each_class(head):
    y = load(str(head)).y
    parts = stratified_split(np.arange(ROWS), y, [0.70, 0.15, 0.15], np.random.default_rng(1))
    assert sorted(np.concatenate(parts).tolist()) == list(range(ROWS))
    for part, share in zip(parts, (0.70, 0.15, 0.15)):
        assert abs(int(y[part].sum()) - share * int(y.sum())) <= 1
        assert abs(len(part) - share * ROWS) <= 2


def test_the_exported_graph_reproduces_pytorch(head, tmp_path):
    sessions = load(str(head))
    torch.manual_seed(3)
    pre = Preprocess(sessions.x[:300], "engineered")
    members = [MLP(pre(torch.from_numpy(sessions.x[:1])).shape[1], 2, 16) for _ in range(2)]
    model = IntentModel(pre, members, platt=[1.2, -0.3]).eval()
    graph = export_onnx(model, str(tmp_path / "intent.onnx"))
    assert [i.name for i in graph.graph.input] == list(INTENT.inputs)
    assert [o.name for o in graph.graph.output] == list(INTENT.outputs)
    # real rows, and rows with values the training rows never had (one-hot all zeros, clamping)
    x = np.concatenate([sessions.x[300:], np.stack([f for _, f in probes(sessions, 0)])])
    expected, diff = check_parity(graph, model, x)
    assert diff <= TOLERANCE
    assert expected.shape == (len(x),) and ((expected > 0) & (expected < 1)).all()


def test_the_committed_readme_is_what_the_renderer_makes_of_the_committed_metrics():
    with open(os.path.join(MODELS, "intent", "metrics.json")) as f:
        metrics = json.load(f)
    with open(os.path.join(MODELS, "intent", "README.md")) as f:
        assert f.read() == render(metrics)
