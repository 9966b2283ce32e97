"""Renders models/intent/README.md (contract + model card) from the metrics train_intent.py
measured, so every number in it comes from metrics.json of the same run."""
from .classifier import CATEGORICAL, LOG_COLUMNS, PLAIN_COLUMNS
from .fit import LOGISTIC_L2, MLP_RECIPE
from .sessions import FEATURES, MONTHS, VISITOR_TYPES

METHOD_NAMES = {"model": "**model** (MLP ensemble, calibrated)",
                "logreg": "logistic regression, model's features",
                "logregRaw": "logistic regression, raw numeric + one-hot",
                "pageValuesRule": "rule PageValues > 0"}
COLUMNS = ("accuracy", "precision", "recall", "f1", "rocAuc", "prAuc", "brier", "ece")
HEADER = "| method | accuracy | precision | recall | F1 | ROC-AUC | PR-AUC | Brier | ECE |"


def _table(protocol, split):
    lines = [HEADER, "|---" * (len(COLUMNS) + 1) + "|"]
    for method, m in protocol["methods"].items():
        lines.append(f"| {METHOD_NAMES[method]} | " + " | ".join(f"{m[split][c]:.4f}" for c in COLUMNS) + " |")
    if split == "test":
        ref = protocol["issueLogreg"]
        lines.append(f"| issue's reference logistic regression | | | | {ref['f1']:.3f} | {ref['rocAuc']:.3f} | | | |")
    return "\n".join(lines)


def _leads(protocol):
    lines = ["| model minus | ROC-AUC (95 % CI) | F1 (95 % CI) |", "|---|---|---|"]
    for b, lead in protocol["leads"].items():
        cell = [f"{lead[k]['lead']:+.4f} [{lead[k]['low']:+.4f}, {lead[k]['high']:+.4f}]" for k in ("rocAuc", "f1")]
        lines.append(f"| {METHOD_NAMES[b]} | {cell[0]} | {cell[1]} |")
    return "\n".join(lines)


def _reliability(protocols):
    names = list(protocols)
    lines = ["| bin | " + " | ".join(f"{n}: mean predicted | {n}: observed | {n}: count" for n in names) + " |",
             "|---" * (1 + 3 * len(names)) + "|"]
    curves = [protocols[n]["methods"]["model"]["test"]["reliability"] for n in names]
    for b in range(len(curves[0])):
        cells = []
        for curve in curves:
            c = curve[b]
            cells += [f"{c['meanPredicted']:.3f}" if c["count"] else "–",
                      f"{c['observedRate']:.3f}" if c["count"] else "–", str(c["count"])]
        lines.append(f"| {curves[0][b]['low']:.1f}–{curves[0][b]['high']:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _met(flag):
    return "**met**" if flag else "**not met**"


def _status(metrics):
    r, d = metrics["protocols"]["random"], metrics["protocols"]["drift"]
    rt, dt = r["targets"], d["targets"]
    ceiling = d["inSeasonCeiling"]
    return "\n".join([
        f"- Random split, ROC-AUC ≥ {rt['rocAuc']['target']}: {_met(rt['rocAuc']['met'])} "
        f"(test {rt['rocAuc']['value']:.4f}).",
        f"- Drift split, ROC-AUC ≥ {dt['rocAuc']['target']}: {_met(dt['rocAuc']['met'])} "
        f"(test {dt['rocAuc']['value']:.4f}). The same recipe trained *inside* Nov–Dec "
        f"({ceiling['folds']}-fold cross-validation) reaches {ceiling['model']['pooledRocAuc']:.4f} "
        f"(logistic regression {ceiling['logreg']['pooledRocAuc']:.4f}): the target asks a model that never saw "
        "the season to match one trained on it (\"Drift\" below).",
    ] + [
        f"- {name.capitalize()} split, F1 above logistic regression: "
        f"model's features {_met(t['f1Above_logreg']['met'])} ({t['f1Above_logreg']['value']:.4f} vs "
        f"{t['f1Above_logreg']['target']:.4f}); raw features {_met(t['f1Above_logregRaw']['met'])} "
        f"(vs {t['f1Above_logregRaw']['target']:.4f}); the issue's reference {_met(t['f1AboveIssueLogreg']['met'])} "
        f"(vs {t['f1AboveIssueLogreg']['target']:.3f})."
        for name, t in (("random", rt), ("drift", dt))])


def _features():
    encoding = {"Month": "calendar number 1–12 (" + ", ".join(f"{k} = {v}" for k, v in MONTHS.items()) + ")",
                "VisitorType": ", ".join(f"{k} = {v}" for k, v in VISITOR_TYPES.items()),
                "Weekend": "FALSE = 0, TRUE = 1"}
    lines = ["| index | name | fed as | in the graph |", "|---|---|---|---|"]
    for i, name in enumerate(FEATURES):
        if name in CATEGORICAL:
            graph = "one-hot over the training vocabulary (intent.json `categorical`); unknown → all zeros"
        elif i in LOG_COLUMNS:
            graph = "log(1 + max(x, 0)), standardised"
        else:
            graph = "standardised"
        lines.append(f"| {i} | {name} | {encoding.get(name, 'raw value')} | {graph} |")
    return "\n".join(lines)


def _best_f1(protocol):
    test = protocol["methods"]
    best = max(test, key=lambda m: test[m]["test"]["f1"])
    worst = min(test, key=lambda m: test[m]["test"]["rocAuc"])
    return (f"Best test F1 here: {METHOD_NAMES[best]} ({test[best]['test']['f1']:.4f}); lowest ROC-AUC: "
            f"{METHOD_NAMES[worst]} ({test[worst]['test']['rocAuc']:.4f}).")


def _raw_note(protocol):
    """Points out when raw-feature logistic regression ranks Nov-Dec better than the model's
    features although validation said the opposite."""
    m = protocol["methods"]
    if m["logregRaw"]["test"]["rocAuc"] <= m["logreg"]["test"]["rocAuc"] \
            or m["logregRaw"]["valid"]["rocAuc"] >= m["logreg"]["valid"]["rocAuc"]:
        return ""
    return (f"Logistic regression on raw features ranks Nov–Dec better ({m['logregRaw']['test']['rocAuc']:.4f}) "
            f"than on the model's features ({m['logreg']['test']['rocAuc']:.4f}), the reverse of validation: "
            "log(1 + PageValues) and the PageValues > 0 indicator likely sharpen exactly the boundary the "
            "season moves. Validation from Feb–Oct cannot see this, so it was not used to choose.\n")


def render(metrics):
    r, d = metrics["protocols"]["random"], metrics["protocols"]["drift"]
    chosen = r["candidates"][r["selected"]]
    platt = chosen["platt"]
    dp = d["periods"]
    low = d["methods"]["model"]["test"]["reliability"][0]
    return f"""# Session purchase-intent model: {metrics['version']}

Generated by `models/training/train_intent.py` together with `metrics.json` (do not edit
by hand; rerun the command under "Reproduce"). The model scores one shopping session from its
page-view aggregates and returns the calibrated probability that it ends in a purchase.

## Status against the issue's targets

{_status(metrics)}

## Serving contract

| file | what |
|---|---|
| `intent.onnx` | ONNX opset 17, {metrics['onnxBytes'] / 1024:.0f} KiB, standard `ai.onnx` ops only |
| `intent.json` | version, input/output names, feature order, categorical vocabularies, encodings, threshold, metrics summary |
| `parity.json` | {metrics['parity']['rows']} real test rows (`row` = 0-based CSV line after the header) and synthetic `probes` of the unknown-value paths, with the PyTorch probabilities; ONNX must match within `tolerance` (1e-5) |
| `metrics.json` | everything measured: both protocols, all methods, valid and test, reliability curves, bootstrap intervals |

- Input `features`: float32 `[batch, 17]`, dynamic batch, raw values in this order:

{_features()}

  The engineered features (PageValues > 0, total pages, total seconds, seconds per product
  page, product pages' share of the session) are computed in the graph from these columns.
- Output `probability`: float32 `[batch]`, calibrated P(purchase) in [0, 1].
- Decision: purchase-intent iff `probability >= threshold` (intent.json, {r['methods']['model']['threshold']:.4f}:
  the F1-optimal cut on the random protocol's validation split; it sits halfway between two
  validation scores, so `>` and `>=` agree there). Under seasonal drift the F1-optimal threshold
  moves (see "Drift").
- Checked at export: `onnx.checker` (full check) and the graph run by
  `models/training/foresight_training/intent/onnx_reference.py` (a strict numpy interpreter of
  the ops used; this machine has neither onnxruntime nor `onnx.reference`) on the parity rows and
  probes, whole batch and batch 1: max |ONNX − PyTorch| = {metrics['parity']['maxAbsDiffOnnxVsTorch']:.1e}.

## Data

UCI Online Shoppers Purchasing Intention (Sakar et al., 2019), `{metrics['data']['file']}`
(sha256 `{metrics['data']['sha256'][:16]}…`): {metrics['data']['sessions']:,} sessions of one shop over a year,
one row per session, {metrics['data']['purchaseRate']:.1%} ending in a purchase (`Revenue`). No Jan or Apr
sessions; June is spelled out in the CSV.

## Model

- Preprocessing (all in the graph, statistics and vocabularies from the training split only):
  log(1 + x) of counts, durations and PageValues; the engineered features above; standardisation;
  one-hot of {', '.join(CATEGORICAL)}.
- Ensemble of {metrics['members']} MLPs (seeds {metrics['seed']}…{metrics['seed'] + metrics['members'] - 1}),
  {MLP_RECIPE['depth']} hidden layers × {MLP_RECIPE['hidden']} ReLU, dropout {MLP_RECIPE['dropout']},
  AdamW (lr {MLP_RECIPE['lr']}, weight decay {MLP_RECIPE['weight_decay']}), batch {MLP_RECIPE['batch']},
  early stopping on validation log-loss (patience {MLP_RECIPE['patience']} epochs, best epoch restored).
  During training each categorical's one-hot block is zeroed for {MLP_RECIPE['category_dropout']:.0%} of the
  rows, so the all-zeros "unknown value" encoding is one the network has seen (Jan, Apr and new
  browser or traffic-source codes reach it in serving).
- The members' logits are averaged and Platt-scaled, p = sigmoid(a · logit + b), with a, b fitted
  on the validation split (shipped: a = {platt['a']:.4f}, b = {platt['b']:.4f}) and folded into the graph.
- Selected on validation ROC-AUC between two numeric feature sets, log(1 + x) alone and with
  the engineered features (test never used for a choice):

| candidate | random: valid ROC-AUC | drift: valid ROC-AUC |
|---|---|---|
""" + "\n".join(f"| {c} | {r['candidates'][c]['validRocAuc']:.4f} | {d['candidates'][c]['validRocAuc']:.4f} |"
                for c in r["candidates"]) + f"""

  Selected: random `{r['selected']}`, drift `{d['selected']}`. The logistic-regression baselines
  use full-batch L-BFGS with L2 ∈ {list(LOGISTIC_L2)} chosen on validation log-loss (chosen: random
  {r['baselineFits']['logreg']['members'][0]['l2']} / {r['baselineFits']['logregRaw']['members'][0]['l2']}, drift
  {d['baselineFits']['logreg']['members'][0]['l2']} / {d['baselineFits']['logregRaw']['members'][0]['l2']} for model's / raw
  features) and are Platt-scaled like the model.
- **Shipped**: the random protocol's model, exactly as evaluated there: fitted on its train split
  ({r['sizes']['train']} sessions), early-stopped, calibrated and thresholded on its valid split
  ({r['sizes']['valid']}); its test split ({r['sizes']['test']}) only measured. Not refitted on train + valid,
  so the numbers below are the shipped file's own.

## Protocols and results

Thresholds are F1-optimal on each protocol's validation split; the rule's decision is
PageValues > 0, its ranking score PageValues and its probability the validation purchase rate of
its two groups (so its validation ECE is 0 by construction). ECE = count-weighted mean
|mean predicted − observed| over the 10 bins below.
Intervals are paired bootstrap (1,000 resamples of the test rows).

### (a) Random split — {r['description']}

Train {r['sizes']['train']}, valid {r['sizes']['valid']}, test {r['sizes']['test']} sessions. Test:

{_table(r, 'test')}

Validation:

{_table(r, 'valid')}

{_leads(r)}

### (b) Drift split — {d['description']}

Train {d['sizes']['train']}, valid {d['sizes']['valid']}, test {d['sizes']['test']} sessions. Test (Nov–Dec):

{_table(d, 'test')}

Validation (Feb–Oct):

{_table(d, 'valid')}

{_leads(d)}

## Calibration (model, test)

{_reliability(metrics['protocols'])}

## Drift

From Feb–Oct to Nov–Dec the purchase rate goes from {dp['train']['purchaseRate']:.1%} to
{dp['test']['purchaseRate']:.1%}, and the share of purchases made in sessions with PageValues = 0 from
{dp['train']['purchasesWithoutPageValues']:.1%} to {dp['test']['purchasesWithoutPageValues']:.1%}. PageValues is by far the
strongest feature, and in Feb–Oct a session without it almost never buys; in November many do,
and a model trained on Feb–Oct cannot rank those sessions. This costs ROC-AUC, and the
validation-chosen threshold, tuned to the lower Feb–Oct base rate, is too strict for Nov–Dec
(model recall {d['methods']['model']['test']['recall']:.2f} against {d['methods']['model']['valid']['recall']:.2f} on validation). {_best_f1(d)}
{_raw_note(d)}Calibration moves with the base rate: in the lowest reliability bin the model predicts
{low['meanPredicted']:.3f} on Nov–Dec and {low['observedRate']:.3f} of those {low['count']} sessions buy.
The in-season diagnostic trains the same recipe on 4/5 of Nov–Dec (its rest split 85 / 15 into
train / valid) and scores the held-out fifth, five times: pooled out-of-fold ROC-AUC
{d['inSeasonCeiling']['model']['pooledRocAuc']:.4f} (folds {', '.join(f'{v:.3f}' for v in d['inSeasonCeiling']['model']['foldRocAuc'])};
0.875–0.881 over the three seeds under "Split-seed sensitivity"), logistic regression
{d['inSeasonCeiling']['logreg']['pooledRocAuc']:.4f}. A model that has never seen the season is not expected
to beat one trained on it, so ROC-AUC ≥ 0.88 on Nov–Dec from Feb–Oct training is not a realistic
target for these features. In serving, retrain or at least recalibrate (Platt
and threshold) on recent labelled sessions when the season turns.

## Choices made during development

Judged on validation splits only (numbers from development runs with seed 20261203):

- log(1 + x) on counts, durations and PageValues plus the engineered features lift logistic
  regression by about 0.02 validation ROC-AUC (its two rows); for the MLP the engineered features
  add a little over log(1 + x) alone (the candidate table).
- MLP width 32–128, one or two hidden layers, dropout 0.2–0.5 and weight decay 1e-4–1e-2 were
  within about 0.004 validation ROC-AUC of each other (single seeds); a 10-member ensemble
  equalled 5 members.
- Gradient-boosted trees (scikit-learn, not shipped) were tried after the first full run of this
  script, whose model missed the random-split target by 0.0007 on test. On the validation splits:
  300 trees of depth 3 on the raw numeric + one-hot features 0.9347 random / 0.9581 drift against
  the MLP ensemble's 0.9347 / 0.9597; a 50/50 logit blend 0.9363 / 0.9604. Trees on the 17 raw
  columns, reading the categorical codes as ordinal numbers, reached 0.9380 / 0.9631, but that
  contradicts the one-hot / unknown-as-zeros contract (a new browser code would be read as "near"
  unrelated codes). Not a clear enough gain to ship a second model family, so the model stays one
  PyTorch network family exported by `torch.onnx.export`.

## Split-seed sensitivity

The test splits are small, so the split matters. Separate runs of the same script with
`--seed 1` and `--seed 2` (different splits and member seeds; not the shipped model, which uses
the default seed fixed before any result was seen), test ROC-AUC / F1:

| seed | random: model | random: logreg (model's features) | drift: model | drift: logreg (model's features) | drift: logreg (raw) | in-season diagnostic |
|---|---|---|---|---|---|---|
| 20261203 (shipped) | 0.9293 / 0.6587 | 0.9161 / 0.6698 | 0.8296 / 0.5786 | 0.8109 / 0.5736 | 0.8359 / 0.6058 | 0.8776 |
| 1 | 0.9440 / 0.7033 | 0.9293 / 0.6787 | 0.8337 / 0.6202 | 0.8095 / 0.6083 | 0.8329 / 0.6080 | 0.8747 |
| 2 | 0.9388 / 0.6813 | 0.9257 / 0.6776 | 0.8316 / 0.5856 | 0.8072 / 0.5754 | 0.8348 / 0.5955 | 0.8812 |

Over these seeds the model's random-split ROC-AUC is 0.929–0.944 (the shipped seed's split is the
hardest of the three) and always 0.013–0.015 above logistic regression on the same features; its
F1 lead over that baseline ranges from −0.011 to +0.025, i.e. F1 is not reliably above it.

## Reproduce

```
{metrics['command']}
```

Python: `/usr/bin/python3` (PyTorch 1.13 CPU, numpy, onnx 1.12); no other packages. Seed
{metrics['seed']}, {metrics["threads"]} thread(s): {metrics["trainingSeconds"]:.0f} s wall time for this run on a shared 2-core machine, for
everything (both protocols, the in-season diagnostic, export and checks). Same seed, same
threads → the same splits, weights and numbers.

## Limitations

- BounceRates, ExitRates and PageValues are Google-Analytics page-level metrics of the shop: a
  page's bounce rate, exit rate and page value are computed over all sessions that viewed it, and
  a session's value is the average over the pages it viewed. To serve, the gateway must keep the
  same page statistics and average them the same way; the model cannot check that it does.
- PageValues carries most of the signal and is derived from transactions (the average revenue
  of sessions that bought after viewing the page), in the data quite possibly including the
  session's own purchase. Part of its predictive power may therefore be leakage that a live
  session, scored before it buys, does not have: expect live ROC-AUC below the table's.
- The other columns (page counts and durations by page kind, month, visitor type, weekend,
  special day, technical codes) come from the session's own events and context.
- One shop, one year, {metrics['data']['sessions']:,} sessions; no Jan or Apr sessions, so those months
  are scored as "month unknown". Seasonal shift is large (above); the probability is calibrated
  on the training period's base rate and over- or under-states purchase intent when it moves.
- Sessions are scored from aggregates of the whole session; mid-session scores from partial
  aggregates are a different distribution from the training rows.
- The test splits are small ({r['sizes']['test']} sessions, {r['methods']['model']['test']['positives']} purchases
  in the random one): F1 and ROC-AUC differences of ~0.01 are within the bootstrap intervals.
"""
