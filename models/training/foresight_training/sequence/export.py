"""Writes a model directory per models/README.md: ONNX files (opset 17, dynamic batch axes),
item_embeddings.f32, vocab.json, the scoring terms' tables, parity.json (fixtures + PyTorch outputs)
and model.json (checked against models/manifest.schema.json first)."""
import datetime
import hashlib
import json
import os

import numpy as np
import onnx
import torch

from .. import manifest
from ..contract import CONTENT, ENCODER, ENCODER_EVENT_TYPES, EVENT_TYPES, OPSET, SCORER
from .content import PRICE_BANDS_UPPER, TEXT_HASH_BUCKETS
from .data import encoder_inputs
from .encoder import TIME_GAP_BUCKETS_SECONDS
from .terms import TERMS


def _onnx(module, args, path, inputs, outputs, dynamic):
    torch.onnx.export(module, args, path, input_names=list(inputs), output_names=list(outputs), opset_version=OPSET,
                      dynamic_axes=dynamic, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path), full_check=True)


def _round(a):
    return np.asarray(a).tolist()


def _named(names, tensors):
    """{name: values as nested lists}: a graph's inputs or outputs as parity.json holds them."""
    return dict(zip(names, map(_round, tensors)))


def scorer_fixture(scorer, ids, top, V, item_attrs, u, p, nc=10):
    """The scorer's parity inputs, as the gateway would send them: rows 0 and 1 of the encoder
    fixture (and those a term asks for), each row's candidates its nearest neighbours (top) with
    the items each term wants moved to the front (its successors, its co-occurring items), so that
    every term is exercised."""
    terms = list(scorer.terms.values())
    rows = torch.tensor(sorted({0, 1}.union(*(t.parity_rows for t in terms))))
    rows_ids = ids[rows]
    candidates = [[int(j) for j in top[r, :nc]] for r in rows]
    for term in terms:
        wanted = term.parity_candidates(rows_ids)
        if wanted is not None:
            candidates = [(w + [j for j in c if j not in w])[:nc] for w, c in zip(wanted, candidates)]
    candidates = torch.tensor(candidates)
    return ((u[rows], p[rows], V[candidates], item_attrs[candidates])
            + tuple(x for t in terms for x in t.parity_inputs(rows_ids, candidates)))


def export(out, ds, enc, scorer, tower, info, parity_seqs, exclude_history=False, observed=None):
    """scorer: a scorer.Scorer whose terms hold their tables (terms/); exclude_history: the model
    was selected with the users' own items left out of the ranking; observed: model.json
    `observed` (default: the sequences format's, no event types or times)."""
    os.makedirs(out, exist_ok=True)
    enc.eval()
    tower.eval()
    L = enc.max_len
    with torch.no_grad():
        V = enc.item_vectors().detach().numpy().astype("<f4")
    V[0] = 0.0
    V.tofile(os.path.join(out, "item_embeddings.f32"))

    # --- encoder: fixtures are real sequences with the event/gap inputs their source sends (1 =
    # unknown for the sequences format)
    ids, ev, gaps = encoder_inputs(parity_seqs, L)
    # one row that exercises known event types and time-gap buckets
    ev[-1] = torch.where(ids[-1] > 0, 2 + torch.arange(L) % len(EVENT_TYPES), torch.zeros(L, dtype=torch.long))
    gaps[-1] = torch.where(ids[-1] > 0, 2 + torch.arange(L) % (len(TIME_GAP_BUCKETS_SECONDS) + 1),
                           torch.zeros(L, dtype=torch.long))
    # the sequence axis is dynamic too: positions are counted from the newest column, so a batch
    # trimmed to its longest history gives the same outputs as one padded to maxLen
    _onnx(enc, (ids, ev, gaps), os.path.join(out, "encoder.onnx"), ENCODER.inputs, ENCODER.outputs,
          dict(ENCODER.dynamic_axes))
    with torch.no_grad():
        u, p, a = enc(ids, ev, gaps)
        top = torch.topk(u @ torch.from_numpy(V).T[:, :], 10, dim=1).indices

    # --- scorer
    scorer_args = scorer_fixture(scorer, ids, top, torch.from_numpy(V), enc.item_attrs, u, p)
    scorer_io = (scorer.inputs, list(SCORER.outputs))
    dyn = dict(SCORER.dynamic_axes)
    for term in scorer.terms.values():
        dyn.update(term.dynamic_axes)
    _onnx(scorer, scorer_args, os.path.join(out, "scorer.onnx"), *scorer_io, dyn)
    with torch.no_grad():
        s = scorer(*scorer_args)

    # --- content tower: model items' attributes, plus a row with text tokens and a price band
    items = torch.tensor([1, 2, 3, ds.num_items])
    c_attrs = enc.item_attrs[items]
    titles = ds.item_text[[1, 2, 3]] if ds.item_text is not None else np.zeros((3, 0), np.int64)
    c_text = torch.zeros(len(items), max(4, titles.shape[1]), dtype=torch.long)
    c_text[:3, :titles.shape[1]] = torch.as_tensor(titles)  # the first items' own titles, where the data has them
    c_text[-1, :4] = torch.tensor([17, 4096, 250, 0])
    c_price = torch.tensor([0, 0, 0, 3])
    _onnx(tower, (c_attrs, c_text, c_price), os.path.join(out, "content.onnx"), CONTENT.inputs, CONTENT.outputs,
          dict(CONTENT.dynamic_axes))
    with torch.no_grad():
        c = tower(c_attrs, c_text, c_price)

    # sequences format: `<dataset>:<raw>` / `<dataset>:a<raw>`; events format: the gateway's ids as they are
    prefix = "" if ds.verbatim else ds.name + ":"
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump({"items": [prefix + r for r in ds.item_raw],
                   "attributes": [r if ds.verbatim else prefix + "a" + r for r in ds.attr_raw],
                   # the item -> attribute table inside the graph; the gateway scores retrieved
                   # candidates with exactly these attributes (models/README.md)
                   "itemAttributes": [[int(a) for a in row if a > 0] for row in ds.item_attrs[1:]]},
                  f, separators=(",", ":"))

    parity = {
        "tolerance": 1e-4,
        "encoder": {"inputs": _named(ENCODER.inputs, (ids, ev, gaps)), "outputs": _named(ENCODER.outputs, (u, p, a)),
                    "topItems": _round(top)},
        "scorer": {"inputs": _named(scorer_io[0], scorer_args), "outputs": _named(SCORER.outputs, (s,))},
        "content": {"inputs": _named(CONTENT.inputs, (c_attrs, c_text, c_price)),
                    "outputs": _named(CONTENT.outputs, (c,))},
    }
    with open(os.path.join(out, "parity.json"), "w") as f:
        json.dump(parity, f, separators=(",", ":"))

    # the version names everything the gateway serves: item vectors, content tower, scorer
    h = hashlib.sha256(V.tobytes())
    for t in list(tower.state_dict().values()) + list(scorer.state_dict().values()):
        h.update(t.detach().numpy().tobytes())
    digest = h.hexdigest()[:8]
    # each term's table file and model.json keys; those of the terms the scorer lacks say so
    term_files, term_keys = {}, {}
    for kind in TERMS:
        files, keys = scorer.terms[kind.name].export(out) if kind.name in scorer.terms else ({}, kind.ABSENT)
        term_files.update(files)
        term_keys.update(keys)
    meta = {
        "version": f"{ds.name}-sasrec-{datetime.date.today().strftime('%Y%m%d')}-{digest}",
        "dataset": ds.name,
        "dim": enc.dim,
        "maxLen": L,
        # encoder.onnx accepts any L <= maxLen (models/README.md)
        "dynamicLength": True,
        "numItems": ds.num_items,
        "numAttributes": ds.num_attrs,
        "maxAttributesPerItem": int(ds.item_attrs.shape[1]),
        "eventTypes": list(ENCODER_EVENT_TYPES),
        "timeGapBucketsSeconds": TIME_GAP_BUCKETS_SECONDS,
        "textHashBuckets": TEXT_HASH_BUCKETS,
        "priceBandsUpper": PRICE_BANDS_UPPER,
        "heads": {"category": True, "purchase": False},
        # the event types and time gaps training saw; the gateway feeds "unknown" for all others
        # (the sequences-file format has neither)
        "observed": observed or {"eventTypes": [], "timeGaps": False},
        "files": {"encoder": "encoder.onnx", "scorer": "scorer.onnx", "content": "content.onnx",
                  "itemEmbeddings": "item_embeddings.f32", "vocab": "vocab.json", "parity": "parity.json",
                  **term_files},
        "onnx": {"opset": OPSET,
                 "encoder": {"inputs": list(ENCODER.inputs), "outputs": list(ENCODER.outputs)},
                 "scorer": {"inputs": scorer_io[0], "outputs": scorer_io[1]},
                 "content": {"inputs": list(CONTENT.inputs), "outputs": list(CONTENT.outputs)}},
        "scorer": {**term_keys,
                   # --exclude-history: selected and evaluated ranking only items the subject has not
                   # interacted with; the gateway's default for filter.excludeSeen (models/README.md)
                   **({"excludeHistory": True} if exclude_history else {})},
        **info,
    }
    problems = manifest.errors(meta)
    if problems:
        raise SystemExit(f"not writing {os.path.join(out, 'model.json')}: it does not match {manifest.SCHEMA}:\n  "
                         + "\n  ".join(problems))
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
    return meta
