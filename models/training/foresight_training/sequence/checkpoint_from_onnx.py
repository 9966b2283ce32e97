"""Rebuilds a model directory's checkpoint.pt (which evaluate.py and train.py --encoder-from need,
and which is not committed) from its exported files: the encoder and content tower weights are
the ONNX initializers, the scorer settings and hyper-parameters come from model.json. Checks the
rebuilt networks against parity.json before writing.

  /usr/bin/python3 models/training/checkpoint_from_onnx.py --model models/beauty
"""
import argparse
import json
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from ..contract import CONTENT, ENCODER, ENCODER_EVENT_TYPES, SCORER
from .content import ContentTower
from .encoder import Encoder
from .scorer import Scorer
from .terms import CategoryTerm, CooccurrenceTerm, MarkovTerm
from .terms.markov_refine import MarkovRefine


def initializers(graph):
    return {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}


def encoder_state(path):
    """The encoder's state_dict. Exported Linear layers become MatMul nodes whose (transposed)
    weights lose their names; the node names keep the module path (/blocks.0/attn/qkv/MatMul)."""
    m = onnx.load(path)
    init = initializers(m.graph)
    sd = {k: v for k, v in init.items() if not k.startswith("onnx::")}
    for n in m.graph.node:
        if n.op_type == "MatMul" and n.input[1].startswith("onnx::"):
            parts = n.name.strip("/").split("/")[:-1]  # e.g. blocks.0, ff, ff.0
            module = ".".join([parts[0]] + [p.split(".")[-1] if p.startswith(parts[-2] + ".") else p
                                            for p in parts[1:]])
            sd[module + ".weight"] = init[n.input[1]].T.contiguous()
    return sd


def refine_state(path, dim, items):
    """The --markov-refine module's state_dict from scorer.onnx: biases keep their names; the
    (transposed) Linear weights are the MatMul inputs of <refine>/<module>/MatMul, and slot_emb is
    rows 1.. of the slot table (row 0, the newest item's slot, is the constant 0): gathered per
    entry in scorers exported before MarkovRefine.slots, a [K, 1, hidden] constant since. The
    module is `refine` in scorers exported before terms/, `markov/refine` (nodes) and
    `terms.markov.refine` (weights) since."""
    m = onnx.load(path)
    init = initializers(m.graph)
    sd = {k.split("refine.", 1)[1]: v for k, v in init.items() if k.startswith(("refine.", "terms.markov.refine."))}
    for n in m.graph.node:
        name = n.name.strip("/").split("/")
        name = name[name.index("refine"):] if "refine" in name else name
        if n.op_type == "MatMul" and name[0] == "refine":
            sd[name[1] + ".weight"] = init[n.input[1]].T.contiguous()
        elif n.op_type == "Gather" and name[0] == "refine" and n.input[0].startswith("onnx::"):
            # scorers exported before MarkovRefine.slots: the slot table gathered per entry
            sd["slot_emb"] = init[n.input[0]][1:].contiguous()
        elif n.op_type == "Add" and name[0] == "refine" and items > 1:
            # since then: the table as a [K, 1, hidden] constant added to the hidden layer
            t = [init[x] for x in n.input if x.startswith("onnx::")]
            if t and t[0].shape == (items, 1, MarkovRefine.HIDDEN):
                sd["slot_emb"] = t[0][1:, 0].contiguous()
    refine = MarkovRefine(dim, items)
    refine.load_state_dict(sd, strict=True)
    return refine.eval()


def max_diff(a, b):
    return float((a - torch.tensor(b)).abs().max())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model directory written by train.py")
    args = p.parse_args(argv)
    d = args.model
    meta = json.load(open(os.path.join(d, "model.json")))
    hp = meta["training"]["hyperParameters"]
    sd = encoder_state(os.path.join(d, meta["files"]["encoder"]))
    # a model exported before an event type was added (WISHLIST) has fewer type rows; the added
    # rows are never read by it (the gateway feeds a type it did not observe as <unknown>)
    rows = sd["event_emb.weight"]
    if rows.shape[0] < len(ENCODER_EVENT_TYPES):
        sd["event_emb.weight"] = torch.cat([rows, torch.zeros(len(ENCODER_EVENT_TYPES) - rows.shape[0], rows.shape[1])])
    enc = Encoder(meta["numItems"], meta["numAttributes"], sd["item_attrs"].numpy(), hp["dim"], hp["max_len"],
                  hp["blocks"], hp["heads"], hp["dropout"], hp.get("block", "sasrec"))
    enc.load_state_dict(sd, strict=True)
    enc.eval()
    tower = ContentTower(meta["numAttributes"], hp["dim"])
    tower.load_state_dict(initializers(onnx.load(os.path.join(d, meta["files"]["content"])).graph), strict=True)
    tower.eval()

    parity = json.load(open(os.path.join(d, meta["files"]["parity"])))
    e, c = parity["encoder"], parity["content"]
    V = np.fromfile(os.path.join(d, meta["files"]["itemEmbeddings"]), dtype="<f4").reshape(-1, meta["dim"])
    with torch.no_grad():
        rebuilt = enc(*(torch.tensor(e["inputs"][k]) for k in ENCODER.inputs))
        emb = tower(*(torch.tensor(c["inputs"][k]) for k in CONTENT.inputs))
        diffs = {k: max_diff(x, e["outputs"][k]) for k, x in zip(ENCODER.outputs, rebuilt)}
        diffs["item_embeddings"] = float(np.abs(enc.item_vectors().numpy() - V).max())
        diffs["content"] = max_diff(emb, c["outputs"][CONTENT.outputs[0]])
    print("max |rebuilt - exported|:", json.dumps(diffs))
    if max(diffs.values()) > 1e-5:
        raise SystemExit("the rebuilt networks do not reproduce the exported outputs")

    refine = None
    cooc = meta["scorer"].get("cooccurrence")
    if meta["scorer"].get("markovRefined"):
        refine = refine_state(os.path.join(d, meta["files"]["scorer"]), hp["dim"], meta["scorer"].get("markovItems", 1))
        terms = [CategoryTerm(meta["scorer"]["categoryWeight"]), MarkovTerm(meta["scorer"]["markov"], refine)]
        if cooc:
            terms.append(CooccurrenceTerm(cooc["weight"], cooc["window"], cooc["decay"]))
        scorer = Scorer(terms).eval()
        with torch.no_grad():
            scores = scorer(*(torch.tensor(v) for v in parity["scorer"]["inputs"].values()))
        diff = max_diff(scores, parity["scorer"]["outputs"][SCORER.outputs[0]])
        print("rebuilt the Markov refine term; max |rebuilt - exported| scores:", diff)
        if diff > 1e-5:
            raise SystemExit("the rebuilt scorer does not reproduce the exported scores")

    t = meta["training"]
    torch.save({"args": {**hp, "threads": t.get("threads", 2)}, "encoder": enc.state_dict(),
                "content": tower.state_dict(),
                # seconds: the whole recorded run (the encoder's own time is not in model.json)
                "training": {"bestEpoch": t["bestEpoch"], "epochsRun": t["epochsRun"], "seconds": t["seconds"],
                             "validNDCG@10": meta["metrics"]["validNDCG@10"]},
                "scorerWeight": meta["scorer"]["categoryWeight"], "markov": meta["scorer"].get("markov"),
                "markovRefine": refine.state_dict() if refine is not None else None,
                "cooccurrence": None if cooc is None else {**{k: cooc[k] for k in ("weight", "window", "decay", "neighbors")},
                                                           "sequential": cooc.get("sequential")},
                "holdout": [], "history": [], "rebuiltFromOnnx": True},
               os.path.join(d, "checkpoint.pt"))
    if meta["data"].get("heldOutItems"):
        print("note: the held-out item list is not in the exported files; cold-start evaluation needs the "
              "original checkpoint")
    print(f"wrote {os.path.join(d, 'checkpoint.pt')}")
