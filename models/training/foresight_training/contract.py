"""The names the training side shares with the gateway (models/README.md), declared once: the event
types, and each ONNX graph's input and output names with their dynamic axes. The gateway's copies
are src/db/events.ts (EVENT_TYPES), src/inference/contract.ts (CONTRACT) and src/forecast/terms/
(the scorer's term inputs); test/models/names.test.ts fails when the two sides differ."""
from typing import NamedTuple

# the gateway's event types (src/db/events.ts), as events files and the database name them; a new
# type goes at the end, so that a shipped model's eventTypes stay a prefix of ENCODER_EVENT_TYPES
EVENT_TYPES = ("VIEW", "CART", "PURCHASE", "SEARCH", "WISHLIST")
# the encoder's event_types input indexes these (model.json eventTypes): 0 = padding, 1 = unknown
ENCODER_EVENT_TYPES = ("<pad>", "<unknown>") + EVENT_TYPES

OPSET = 17  # of every exported graph (model.json onnx.opset)


class Graph(NamedTuple):
    """An ONNX graph's input and output names, in order, and their dynamic axes ({name: {axis:
    symbol}}, as torch.onnx.export takes them)."""
    inputs: tuple
    outputs: tuple
    dynamic_axes: dict


def _graph(inputs, outputs):
    """A Graph from {name: dynamic axes} of the inputs and of the outputs, in order."""
    return Graph(tuple(inputs), tuple(outputs), {**inputs, **outputs})


_B, _BL, _BN = {0: "B"}, {0: "B", 1: "L"}, {0: "B", 1: "N"}

# the sequence axis L is dynamic too: positions count from the newest column (models/README.md)
ENCODER = _graph({"item_ids": _BL, "event_types": _BL, "time_gaps": _BL},
                 {"user_state": _B, "category_probs": _B, "attention": _BL})
# the four inputs every scorer takes; its terms add theirs after them (SCORER_*_INPUTS)
SCORER = _graph({"user_state": _B, "category_probs": _B, "candidate_embeddings": _BN,
                 "candidate_attrs": {0: "B", 1: "N", 2: "A"}},
                {"scores": _BN})
CONTENT = _graph({"attr_ids": {0: "B", 1: "A"}, "text_tokens": {0: "B", 1: "T"}, "price_band": _B},
                 {"embedding": _B})
# the sequence model's graphs (src/inference/contract.ts GRAPHS), each written as <name>.onnx
GRAPHS = {"encoder": ENCODER, "scorer": SCORER, "content": CONTENT}

# the scorer inputs of its terms ({name: dynamic axes}, in order; sequence/terms/): the Markov term
# over the newest item (scorer.markov), or over the K newest (scorer.markovItems: [B, K, N], [B, K])
SCORER_MARKOV_INPUTS = {"candidate_transitions": _BN, "newest_out_transitions": _B}
SCORER_MARKOV_ITEMS_INPUTS = {"candidate_transitions": {0: "B", 2: "N"}, "history_out_transitions": _B}
SCORER_COOCCURRENCE_INPUTS = {"candidate_cooccurrence": _BN}

# intent.onnx (models/intent/intent.json input and output): raw session features -> probability
INTENT = _graph({"features": {0: "batch"}}, {"probability": {0: "batch"}})
