"""Writes a model directory per models/README.md: ONNX files (opset 17, dynamic batch axes),
item_embeddings.f32, vocab.json, model.json and parity.json (fixtures + PyTorch outputs)."""
import datetime
import hashlib
import json
import os

import numpy as np
import onnx
import torch

from data import encoder_inputs
from model import EVENT_TYPES, PRICE_BANDS_UPPER, TEXT_HASH_BUCKETS, TIME_GAP_BUCKETS_SECONDS

OPSET = 17
ENCODER_IO = (["item_ids", "event_types", "time_gaps"], ["user_state", "category_probs", "attention"])
SCORER_IO = (["user_state", "category_probs", "candidate_embeddings", "candidate_attrs"], ["scores"])
SCORER_MARKOV_INPUTS = ["candidate_transitions", "newest_out_transitions"]
# with scorer.markovItems (--markov-items K > 1): the K newest items' counts [B, K, N] and outs [B, K]
SCORER_MARKOV_ITEMS_INPUTS = ["candidate_transitions", "history_out_transitions"]
CONTENT_IO = (["attr_ids", "text_tokens", "price_band"], ["embedding"])


def _onnx(module, args, path, io, dynamic):
    torch.onnx.export(module, args, path, input_names=io[0], output_names=io[1], opset_version=OPSET,
                      dynamic_axes=dynamic, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path), full_check=True)


def _round(a):
    return np.asarray(a).tolist()


def write_transitions(path, C):
    """transitions.bin (models/README.md): little-endian int32 CSR of the transition counts,
    indptr [numItems + 2], then successor indices [nnz], then counts [nnz]; each row's
    successors ordered by count (highest first), then by index."""
    C = C.numpy() if hasattr(C, "numpy") else C
    indptr, idx, cnt = [0], [], []
    for i in range(C.shape[0]):
        nz = np.nonzero(C[i])[0]
        order = np.lexsort((nz, -C[i, nz]))
        idx.append(nz[order])
        cnt.append(C[i, nz[order]])
        indptr.append(indptr[-1] + len(nz))
    parts = [np.asarray(indptr, dtype="<i4"), np.concatenate(idx).astype("<i4"),
             np.concatenate(cnt).astype("<i4")]
    with open(path, "wb") as f:
        for a in parts:
            f.write(a.tobytes())
    return int(indptr[-1])


def export(out, ds, enc, scorer, tower, info, parity_seqs, markov=None, cooc=None, exclude_history=False,
           observed=None):
    """cooc = (Cooccurrence, window, decay) when the scorer has the co-occurrence term;
    exclude_history: the model was selected with the users' own items left out of the ranking;
    observed: model.json `observed` (default: the sequences format's, no event types or times)."""
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
    ev[-1] = torch.where(ids[-1] > 0, 2 + torch.arange(L) % 4, torch.zeros(L, dtype=torch.long))
    gaps[-1] = torch.where(ids[-1] > 0, 2 + torch.arange(L) % (len(TIME_GAP_BUCKETS_SECONDS) + 1),
                           torch.zeros(L, dtype=torch.long))
    # the sequence axis is dynamic too: positions are counted from the newest column, so a batch
    # trimmed to its longest history gives the same outputs as one padded to maxLen
    dyn = {n: {0: "B", 1: "L"} for n in ENCODER_IO[0] + ["attention"]}
    dyn.update({n: {0: "B"} for n in ENCODER_IO[1] if n != "attention"})
    _onnx(enc, (ids, ev, gaps), os.path.join(out, "encoder.onnx"), ENCODER_IO, dyn)
    with torch.no_grad():
        u, p, a = enc(ids, ev, gaps)
        top = torch.topk(u @ torch.from_numpy(V).T[:, :], 10, dim=1).indices

    # --- scorer: candidates = top items of the first two rows, as the gateway would send them
    nc = 10
    cand_ids = top[:2, :nc].clone()  # (a copy: the Markov fixture below edits it)
    cand_emb = torch.from_numpy(V)[cand_ids]
    cand_attrs = enc.item_attrs[cand_ids]
    dyn = {"user_state": {0: "B"}, "category_probs": {0: "B"},
           "candidate_embeddings": {0: "B", 1: "N"}, "candidate_attrs": {0: "B", 1: "N", 2: "A"},
           "scores": {0: "B", 1: "N"}}
    scorer_args = (u[:2], p[:2], cand_emb, cand_attrs)
    scorer_io = SCORER_IO
    if scorer.has_markov and scorer.items > 1:
        # fixture: rows 0, 1 and 4 (4 has a single item, so its older slots are 0); candidates = the
        # top successors of each row's K newest items, then its nearest neighbours
        K = scorer.items
        fix = torch.tensor([0, 1, 4])
        hist = torch.stack([ids[fix, -1 - k] for k in range(K)], 1)  # [3, K], 0 = no item
        rows = []
        for r in range(len(fix)):
            succ = []
            for k in range(K):
                h = int(hist[r, k])
                if h > 0:
                    succ += [int(j) for j in torch.argsort(-markov.C[h])[:2] if markov.C[h, j] > 0 and int(j) not in succ]
            rows.append((succ + [int(j) for j in top[fix[r]] if int(j) not in succ])[:nc])
        cand_ids = torch.tensor(rows)
        cand_emb = torch.from_numpy(V)[cand_ids]
        cand_attrs = enc.item_attrs[cand_ids]
        cand_tr = markov.C[hist.unsqueeze(-1), cand_ids.unsqueeze(1)]  # [3, K, nc]
        hist_out = markov.out[hist]  # [3, K]
        scorer_args = (u[fix], p[fix], cand_emb, cand_attrs, cand_tr, hist_out)
        scorer_io = (SCORER_IO[0] + SCORER_MARKOV_ITEMS_INPUTS, SCORER_IO[1])
        dyn.update({"candidate_transitions": {0: "B", 2: "N"}, "history_out_transitions": {0: "B"}})
    elif scorer.has_markov:
        # fixture transitions: the real counts from the rows' newest items to the candidates, with
        # each row's top successors among the candidates so the term is exercised
        newest = ids[:2, -1]
        for r in range(2):
            succ = [int(j) for j in torch.argsort(-markov.C[newest[r]])[:3] if markov.C[newest[r], j] > 0]
            rest = [int(j) for j in cand_ids[r] if int(j) not in succ]
            cand_ids[r] = torch.tensor((succ + rest)[:nc])
        cand_emb = torch.from_numpy(V)[cand_ids]
        cand_attrs = enc.item_attrs[cand_ids]
        scorer_args = (u[:2], p[:2], cand_emb, cand_attrs)
        cand_tr = markov.C[newest.unsqueeze(-1), cand_ids]
        newest_out = markov.out[newest]
        scorer_args += (cand_tr, newest_out)
        scorer_io = (SCORER_IO[0] + SCORER_MARKOV_INPUTS, SCORER_IO[1])
        dyn.update({"candidate_transitions": {0: "B", 1: "N"}, "newest_out_transitions": {0: "B"}})
    if scorer.has_cooccurrence:
        # fixture: the real feature of the scorer rows' histories for their candidates, with each
        # row's most similar co-occurring items moved in so the term is exercised
        if not (scorer.has_markov and scorer.items > 1):
            raise SystemExit("--cooccurrence is exported with --markov-items K > 1 only")
        matrix, window, decay = cooc
        hist = torch.stack([ids[fix, -1 - k] for k in range(window)], 1)
        feat = matrix.feature(hist, decay)
        rows = []
        for r in range(len(fix)):
            near = [int(j) for j in torch.argsort(-feat[r])[:2] if feat[r, j] > 0]
            rows.append(near + [int(j) for j in cand_ids[r] if int(j) not in near][:nc - len(near)])
        cand_ids = torch.tensor(rows)
        hist_k = hist[:, :scorer.items]
        scorer_args = (u[fix], p[fix], torch.from_numpy(V)[cand_ids], enc.item_attrs[cand_ids],
                       markov.C[hist_k.unsqueeze(-1), cand_ids.unsqueeze(1)], markov.out[hist_k],
                       feat.gather(1, cand_ids))
        scorer_io = (scorer_io[0] + ["candidate_cooccurrence"], scorer_io[1])
        dyn["candidate_cooccurrence"] = {0: "B", 1: "N"}
    _onnx(scorer, scorer_args, os.path.join(out, "scorer.onnx"), scorer_io, dyn)
    with torch.no_grad():
        s = scorer(*scorer_args)
    transitions = write_transitions(os.path.join(out, "transitions.bin"), markov.C) if scorer.has_markov else 0
    if scorer.has_cooccurrence:
        cooc[0].write(os.path.join(out, "cooccurrence.bin"))

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
        "encoder": {"inputs": {"item_ids": _round(ids), "event_types": _round(ev), "time_gaps": _round(gaps)},
                    "outputs": {"user_state": _round(u), "category_probs": _round(p), "attention": _round(a)},
                    "topItems": _round(top)},
        "scorer": {"inputs": dict(zip(scorer_io[0], map(_round, scorer_args))),
                   "outputs": {"scores": _round(s)}},
        "content": {"inputs": {"attr_ids": _round(c_attrs), "text_tokens": _round(c_text), "price_band": _round(c_price)},
                    "outputs": {"embedding": _round(c)}},
    }
    with open(os.path.join(out, "parity.json"), "w") as f:
        json.dump(parity, f, separators=(",", ":"))

    # the version names everything the gateway serves: item vectors, content tower, scorer
    h = hashlib.sha256(V.tobytes())
    for t in list(tower.state_dict().values()) + list(scorer.state_dict().values()):
        h.update(t.detach().numpy().tobytes())
    digest = h.hexdigest()[:8]
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
        "eventTypes": EVENT_TYPES,
        "timeGapBucketsSeconds": TIME_GAP_BUCKETS_SECONDS,
        "textHashBuckets": TEXT_HASH_BUCKETS,
        "priceBandsUpper": PRICE_BANDS_UPPER,
        "heads": {"category": True, "purchase": False},
        # the event types and time gaps training saw; the gateway feeds "unknown" for all others
        # (the sequences-file format has neither)
        "observed": observed or {"eventTypes": [], "timeGaps": False},
        "files": {"encoder": "encoder.onnx", "scorer": "scorer.onnx", "content": "content.onnx",
                  "itemEmbeddings": "item_embeddings.f32", "vocab": "vocab.json", "parity": "parity.json",
                  **({"transitions": "transitions.bin"} if scorer.has_markov else {}),
                  **({"cooccurrence": "cooccurrence.bin"} if scorer.has_cooccurrence else {})},
        "onnx": {"opset": OPSET,
                 "encoder": {"inputs": ENCODER_IO[0], "outputs": ENCODER_IO[1]},
                 "scorer": {"inputs": scorer_io[0], "outputs": scorer_io[1]},
                 "content": {"inputs": CONTENT_IO[0], "outputs": CONTENT_IO[1]}},
        "scorer": {"categoryWeight": float(scorer.weight),
                   "markov": [float(b) for b in scorer.markov] if scorer.has_markov else None,
                   # --markov-refine: the term is reshaped inside scorer.onnx (same inputs, still >= 0)
                   "markovRefined": scorer.refine is not None,
                   # --markov-items K > 1: the Markov inputs cover the K newest items (models/README.md)
                   **({"markovItems": scorer.items} if scorer.items > 1 else {}),
                   "transitions": transitions,
                   # --cooccurrence: + weight * sum_k decay^k * S[h_k, candidate] (models/README.md)
                   **({"cooccurrence": {"weight": float(scorer.cooccurrence_weight), "window": cooc[1],
                                        "decay": cooc[2], "neighbors": cooc[0].neighbors,
                                        "pairs": cooc[0].pairs,
                                        **({"sequential": cooc[0].sequential} if cooc[0].sequential else {})}}
                      if scorer.has_cooccurrence else {}),
                   # --exclude-history: selected and evaluated ranking only items the subject has not
                   # interacted with; the gateway's default for filter.excludeSeen (models/README.md)
                   **({"excludeHistory": True} if exclude_history else {})},
        **info,
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
    return meta
