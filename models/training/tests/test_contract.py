"""contract.py against what the repository ships: the names in the committed model.json and
intent.json are the ones declared once in Python (test/models/names.test.ts compares them with the
gateway's TypeScript)."""
import json
import os

from foresight_training import contract
from foresight_training.paths import MODELS


def _json(*parts):
    with open(os.path.join(MODELS, *parts)) as f:
        return json.load(f)


def test_encoder_event_types_are_padding_unknown_then_the_gateways():
    assert contract.ENCODER_EVENT_TYPES == ("<pad>", "<unknown>", "VIEW", "CART", "PURCHASE", "SEARCH", "WISHLIST")
    assert contract.ENCODER_EVENT_TYPES[2:] == contract.EVENT_TYPES


def test_graph_dynamic_axes_cover_exactly_its_inputs_and_outputs():
    for graph in (*contract.GRAPHS.values(), contract.INTENT):
        assert list(graph.dynamic_axes) == [*graph.inputs, *graph.outputs]
        assert all(0 in axes for axes in graph.dynamic_axes.values())  # the batch axis, always


def test_the_shipped_beauty_model_names_its_graphs_as_the_contract_does():
    meta = _json("beauty", "model.json")
    # trained before WISHLIST was appended: its vocabulary is a prefix of today's
    assert meta["eventTypes"] == list(contract.ENCODER_EVENT_TYPES[:len(meta["eventTypes"])])
    assert meta["onnx"]["opset"] == contract.OPSET
    for name in ("encoder", "content"):
        graph = contract.GRAPHS[name]
        assert meta["onnx"][name] == {"inputs": list(graph.inputs), "outputs": list(graph.outputs)}
    # beauty ships the Markov term over its K newest items and the co-occurrence term
    assert meta["scorer"]["markovItems"] == 2 and meta["scorer"]["cooccurrence"]
    assert meta["onnx"]["scorer"] == {
        "inputs": [*contract.SCORER.inputs, *contract.SCORER_MARKOV_ITEMS_INPUTS, *contract.SCORER_COOCCURRENCE_INPUTS],
        "outputs": list(contract.SCORER.outputs)}


def test_the_shipped_intent_model_names_its_input_and_output_as_the_contract_does():
    manifest = _json("intent", "intent.json")
    assert (manifest["input"],) == contract.INTENT.inputs
    assert (manifest["output"],) == contract.INTENT.outputs
