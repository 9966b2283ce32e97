"""Writes a model directory per models/README.md: ONNX files (opset 17, dynamic batch axes),
item_embeddings.f32, vocab.json, model.json and parity.json (fixtures + PyTorch outputs)."""
import datetime
import hashlib
import json
import os

import numpy as np
import onnx
import torch

from data import left_pad
from model import EVENT_TYPES, PRICE_BANDS_UPPER, TEXT_HASH_BUCKETS, TIME_GAP_BUCKETS_SECONDS

OPSET = 17
ENCODER_IO = (["item_ids", "event_types", "time_gaps"], ["user_state", "category_probs", "attention"])
SCORER_IO = (["user_state", "category_probs", "candidate_embeddings", "candidate_attrs"], ["scores"])
CONTENT_IO = (["attr_ids", "text_tokens", "price_band"], ["embedding"])


def _onnx(module, args, path, io, dynamic):
    torch.onnx.export(module, args, path, input_names=io[0], output_names=io[1], opset_version=OPSET,
                      dynamic_axes=dynamic, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path), full_check=True)


def _round(a):
    return np.asarray(a).tolist()


def export(out, ds, enc, scorer, tower, info, parity_seqs):
    os.makedirs(out, exist_ok=True)
    enc.eval()
    tower.eval()
    L = enc.max_len
    with torch.no_grad():
        V = enc.item_vectors().detach().numpy().astype("<f4")
    V[0] = 0.0
    V.tofile(os.path.join(out, "item_embeddings.f32"))

    # --- encoder: fixtures are real sequences with the event/gap inputs a source without them sends
    ids = torch.from_numpy(left_pad(parity_seqs, L))
    ev = (ids > 0).long()
    gaps = (ids > 0).long()
    # one row that exercises known event types and time-gap buckets
    ev[-1] = torch.where(ids[-1] > 0, 2 + torch.arange(L) % 4, torch.zeros(L, dtype=torch.long))
    gaps[-1] = torch.where(ids[-1] > 0, 2 + torch.arange(L) % (len(TIME_GAP_BUCKETS_SECONDS) + 1),
                           torch.zeros(L, dtype=torch.long))
    dyn = {n: {0: "B"} for n in ENCODER_IO[0] + ENCODER_IO[1]}
    _onnx(enc, (ids, ev, gaps), os.path.join(out, "encoder.onnx"), ENCODER_IO, dyn)
    with torch.no_grad():
        u, p, a = enc(ids, ev, gaps)
        top = torch.topk(u @ torch.from_numpy(V).T[:, :], 10, dim=1).indices

    # --- scorer: candidates = top items of the first two rows, as the gateway would send them
    nc = 10
    cand_ids = top[:2, :nc]
    cand_emb = torch.from_numpy(V)[cand_ids]
    cand_attrs = enc.item_attrs[cand_ids]
    dyn = {"user_state": {0: "B"}, "category_probs": {0: "B"},
           "candidate_embeddings": {0: "B", 1: "N"}, "candidate_attrs": {0: "B", 1: "N", 2: "A"},
           "scores": {0: "B", 1: "N"}}
    _onnx(scorer, (u[:2], p[:2], cand_emb, cand_attrs), os.path.join(out, "scorer.onnx"), SCORER_IO, dyn)
    with torch.no_grad():
        s = scorer(u[:2], p[:2], cand_emb, cand_attrs)

    # --- content tower: model items' attributes, plus a row with text tokens and a price band
    items = torch.tensor([1, 2, 3, ds.num_items])
    c_attrs = enc.item_attrs[items]
    c_text = torch.zeros(len(items), 4, dtype=torch.long)
    c_text[-1] = torch.tensor([17, 4096, 250, 0])
    c_price = torch.tensor([0, 0, 0, 3])
    dyn = {"attr_ids": {0: "B", 1: "A"}, "text_tokens": {0: "B", 1: "T"}, "price_band": {0: "B"},
           "embedding": {0: "B"}}
    _onnx(tower, (c_attrs, c_text, c_price), os.path.join(out, "content.onnx"), CONTENT_IO, dyn)
    with torch.no_grad():
        c = tower(c_attrs, c_text, c_price)

    prefix = ds.name + ":"
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump({"items": [prefix + r for r in ds.item_raw],
                   "attributes": [prefix + "a" + r for r in ds.attr_raw],
                   # the item -> attribute table inside the graph; the gateway scores retrieved
                   # candidates with exactly these attributes (models/README.md)
                   "itemAttributes": [[int(a) for a in row if a > 0] for row in ds.item_attrs[1:]]},
                  f, separators=(",", ":"))

    parity = {
        "tolerance": 1e-4,
        "encoder": {"inputs": {"item_ids": _round(ids), "event_types": _round(ev), "time_gaps": _round(gaps)},
                    "outputs": {"user_state": _round(u), "category_probs": _round(p), "attention": _round(a)},
                    "topItems": _round(top)},
        "scorer": {"inputs": {"user_state": _round(u[:2]), "category_probs": _round(p[:2]),
                              "candidate_embeddings": _round(cand_emb), "candidate_attrs": _round(cand_attrs)},
                   "outputs": {"scores": _round(s)}},
        "content": {"inputs": {"attr_ids": _round(c_attrs), "text_tokens": _round(c_text), "price_band": _round(c_price)},
                    "outputs": {"embedding": _round(c)}},
    }
    with open(os.path.join(out, "parity.json"), "w") as f:
        json.dump(parity, f, separators=(",", ":"))

    digest = hashlib.sha256(V.tobytes()).hexdigest()[:8]
    meta = {
        "version": f"{ds.name}-sasrec-{datetime.date.today().strftime('%Y%m%d')}-{digest}",
        "dataset": ds.name,
        "dim": enc.dim,
        "maxLen": L,
        "numItems": ds.num_items,
        "numAttributes": ds.num_attrs,
        "maxAttributesPerItem": int(ds.item_attrs.shape[1]),
        "eventTypes": EVENT_TYPES,
        "timeGapBucketsSeconds": TIME_GAP_BUCKETS_SECONDS,
        "textHashBuckets": TEXT_HASH_BUCKETS,
        "priceBandsUpper": PRICE_BANDS_UPPER,
        "heads": {"category": True, "purchase": False},
        # the sequences-file format has no event types or timestamps: serving must feed "unknown"
        "observed": {"eventTypes": [], "timeGaps": False},
        "files": {"encoder": "encoder.onnx", "scorer": "scorer.onnx", "content": "content.onnx",
                  "itemEmbeddings": "item_embeddings.f32", "vocab": "vocab.json", "parity": "parity.json"},
        "onnx": {"opset": OPSET,
                 "encoder": {"inputs": ENCODER_IO[0], "outputs": ENCODER_IO[1]},
                 "scorer": {"inputs": SCORER_IO[0], "outputs": SCORER_IO[1]},
                 "content": {"inputs": CONTENT_IO[0], "outputs": CONTENT_IO[1]}},
        "scorer": {"categoryWeight": float(scorer.weight)},
        **info,
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
    return meta
