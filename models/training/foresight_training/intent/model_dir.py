"""Writes the served files of models/intent/: intent.onnx (opset 17, dynamic batch), intent.json
(the serving contract) and parity.json (real test rows + the PyTorch probabilities), after
checking that the exported graph itself reproduces PyTorch on those rows and a few synthetic
probes of the unknown-value paths."""
import datetime
import hashlib
import json
import os
import warnings

import numpy as np
import onnx
import torch

from ..contract import INTENT, OPSET
from . import onnx_reference
from .classifier import CATEGORICAL
from .sessions import BOOLEANS, COLUMN, FEATURES, MONTHS, VISITOR_TYPES

INPUT, OUTPUT = INTENT.inputs[0], INTENT.outputs[0]
TOLERANCE = 1e-5
PARITY_ROWS = 40
# parity.json quotas per (purchase, PageValues > 0) stratum: 15 purchases in all
PARITY_QUOTAS = {(1, True): 10, (1, False): 5, (0, True): 7, (0, False): 18}
# parity.json "probes": synthetic edits of one real row, {feature: value}
PROBES = [
    {"Month": 1},  # January: absent from the data, so outside every Month vocabulary
    {"Browser": 99, "TrafficType": 99},  # codes never seen
    {"ProductRelated_Duration": -1},  # impossible negative duration, clamped to 0 in the graph
]


def export_onnx(model, path):
    model.eval()
    with warnings.catch_warnings():
        # torch 1.13 warns that it cannot shape-infer the Clip bound constants; the checker
        # below infers every shape of the exported graph
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        torch.onnx.export(model, torch.zeros(2, len(FEATURES)), path, input_names=[INPUT],
                          output_names=[OUTPUT], opset_version=OPSET, do_constant_folding=True,
                          dynamic_axes=dict(INTENT.dynamic_axes))
    graph = onnx.load(path)
    onnx.checker.check_model(graph, full_check=True)
    return graph


def parity_rows(sessions, test, rng, tries=1000):
    """40 test rows, stratified by PARITY_QUOTAS, redrawn until they cover every VisitorType,
    at least 3 sessions each of Nov and Dec, and 6 distinct months."""
    x, y = sessions.x, sessions.y
    pv = x[:, COLUMN["PageValues"]] > 0
    for _ in range(tries):
        rows = np.sort(np.concatenate([
            rng.choice(test[(y[test] == label) & (pv[test] == positive)], n, replace=False)
            for (label, positive), n in PARITY_QUOTAS.items()]))
        month = x[rows, COLUMN["Month"]]
        if (len(np.unique(x[rows, COLUMN["VisitorType"]])) == 3 and (month == 11).sum() >= 3
                and (month == 12).sum() >= 3 and len(np.unique(month)) >= 6):
            return rows
    raise RuntimeError(f"no parity sample met the coverage rules in {tries} draws")


def probes(sessions, row):
    """Synthetic variants of one real row for the paths real test rows do not reach: values
    outside every training vocabulary (one-hot all zeros) and negative counts (clamped to 0)."""
    out = []
    for changes in PROBES:
        x = sessions.x[row].copy()
        for name, value in changes.items():
            x[COLUMN[name]] = value
        out.append((f"row {row} with " + ", ".join(f"{n} = {v}" for n, v in changes.items()), x))
    return out


def check_parity(graph, model, x):
    """Max |ONNX - PyTorch| on rows x, the whole batch at once and row by row (batch 1)."""
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    batched = onnx_reference.run(graph, {INPUT: x})[OUTPUT]
    single = np.concatenate([onnx_reference.run(graph, {INPUT: x[i:i + 1]})[OUTPUT] for i in range(len(x))])
    if batched.shape != expected.shape or batched.dtype != np.float32:
        raise AssertionError(f"ONNX output {batched.dtype}{batched.shape}, PyTorch {expected.shape}")
    diff = float(max(np.abs(batched - expected).max(), np.abs(single - expected).max()))
    if diff > TOLERANCE:
        raise AssertionError(f"ONNX differs from PyTorch by {diff} > {TOLERANCE}")
    return expected, diff


def write_model_dir(out, model, sessions, test, rng, threshold, trained_on, protocols):
    """Exports and checks the shipped model; returns (version, parity max diff, parity rows)."""
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, "intent.onnx")
    graph = export_onnx(model, onnx_path)
    with open(onnx_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:8]
    version = f"uci-intent-{datetime.date.today():%Y%m%d}-{digest}"

    vocab = model.preprocess.vocab
    rows = parity_rows(sessions, test, rng)
    synthetic = probes(sessions, int(rows[-1]))
    x = np.concatenate([sessions.x[rows], np.stack([f for _, f in synthetic])])
    probability, diff = check_parity(graph, model, x)
    parity = {"version": version, "input": INPUT, "output": OUTPUT, "tolerance": TOLERANCE,
              "rows": [{"row": int(r), "features": [float(v) for v in f], "probability": float(p)}
                       for r, f, p in zip(rows, x, probability)],
              "probes": [{"description": d, "features": [float(v) for v in f], "probability": float(p)}
                         for (d, f), p in zip(synthetic, probability[len(rows):])]}
    contract = {"version": version, "input": INPUT, "output": OUTPUT, "features": FEATURES,
                # every categorical is an integer code in the data
                "categorical": {c: [int(v) for v in vocab[c]] for c in CATEGORICAL},
                # how the CSV's strings become the numbers fed for Month, VisitorType, Weekend
                "encodings": {"Month": MONTHS, "VisitorType": VISITOR_TYPES,
                              "Weekend": {k.lower(): v for k, v in BOOLEANS.items()}},
                "threshold": threshold, "trainedOn": trained_on, "protocols": protocols}
    for name, obj in (("parity.json", parity), ("intent.json", contract)):
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
    return version, diff, rows
