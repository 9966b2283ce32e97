"""Renders models/MODEL_CARD.md from models/metrics.json and the shipped model directory, so every
number in the card comes from a file that names the command that produced it.

  /usr/bin/python3 models/training/model_card.py [--model models/beauty] [--parity-max-diff X]
  /usr/bin/python3 models/training/model_card.py --events-model models/diginetica [--ablation DIR] [--notes F]
"""
import argparse
import json
import os

from ..category.card import category_file_section, category_section
from ..paths import MODELS, TRAINING

KS = (5, 10, 20)


def row(name, m):
    return f"| {name} | " + " | ".join(f"{m[f'HR@{k}']:.4f} | {m[f'NDCG@{k}']:.4f}" for k in KS) + " |"


def table(entry, split="test"):
    head = "| method | " + " | ".join(f"HR@{k} | NDCG@{k}" for k in KS) + " |\n|---|" + "---|" * (2 * len(KS))
    lines = [head]
    if "model" in entry:
        lines.append(row("**model (as served: scorer.onnx over all items)**", entry["model"][split]))
        if "encoderOnly" in entry["model"]:
            lines.append(row("model, encoder inner product only", entry["model"]["encoderOnly"][split]))
    for name, b in entry.get("baselines", {}).items():
        lines.append(row(name, b[split]))
    return "\n".join(lines)


def section(title, entry):
    if not entry:
        return f"## {title}\n\n(not evaluated)\n"
    out = [f"## {title}", "",
           f"{entry['users']} users, {entry['items']} items; {entry['protocol']}.", "",
           "Test (last item; input = everything before it):", "", table(entry, "test"), "",
           "Validation (second-to-last item; used for early stopping and the scorer weight):", "",
           table(entry, "valid"), ""]
    for key, what in (("command", "model and baselines"), ("modelCommand", "model"), ("baselinesCommand", "baselines")):
        if entry.get(key):
            out += [f"Command ({what}): `{entry[key]}`", ""]
    if "model" in entry and "training" in entry["model"]:
        t = entry["model"]["training"]
        how = f" with `{t['command']}`" if t.get("command") else ""
        enc = f" The encoder came from `{t['encoderCommand']}`." if t.get("encoderCommand") else ""
        out += [f"Model `{entry['model'].get('version', '')}` trained{how}: best epoch {t['bestEpoch']} of "
                f"{t['epochsRun']}, {t['seconds'] / 60:.1f} min wall-clock on {t['threads']} CPU threads.{enc}", ""]
    return "\n".join(out)


def markov_items_section(entry):
    """The --markov-items sweep (metrics.json "beauty-markov-items"): one row per K, valid and test."""
    if not entry:
        return ""
    head = "| K | " + " | ".join(f"HR@{k} | NDCG@{k}" for k in KS) + " |\n|---|" + "---|" * (2 * len(KS))
    out = [f"### {entry['title']}", "", entry["what"], ""]
    for split in ("valid", "test"):
        out += [f"{split.capitalize()}:", "", head]
        out += [row(f"{k}{' (shipped)' if r.get('shipped') else ''}", r[split]) for k, r in entry["runs"].items()]
        out.append("")
    for k, r in entry["runs"].items():
        out += [f"- K = {k}: model `{r['version']}`, trained with `{r['command']}`, evaluated with `{r['evalCommand']}`."]
    return "\n".join(out + [""])


def cold_users_section(metrics):
    """The entries evaluate.py wrote for --holdout-users models ("coldUsers"): one row per dataset,
    prefix length and method."""
    entries = [e for e in metrics.values() if isinstance(e, dict) and "coldUsers" in e]
    out = ["## Cold-start shoppers (users held out of training, ranked from their first 1 or 2 items)", ""]
    if not entries:
        return "\n".join(out + ["(not evaluated)", ""])
    out += ["A random fraction of the users (below) is removed from training entirely (`--holdout-users`: encoder, "
            "transition and co-occurrence counts, validation); the baselines are fitted on the same training part. "
            "Input = a held-out user's first k items, target = item k + 1, full ranking. Users whose first k + 1 "
            "items include a held-out item (`--holdout-items`) are left out.", "",
            "| dataset | first k items | method | users | " + " | ".join(f"HR@{k} | NDCG@{k}" for k in KS) + " |",
            "|---|---|---|---|" + "---|" * (2 * len(KS))]
    for e in entries:
        for k, p in e["coldUsers"]["prefixes"].items():
            out += [row(f"{e['dataset']} | {k} | {name} | {m['users']}", m) for name, m in p["rows"].items()]
    out += ["", "The model's NDCG@10 lead over each baseline on the same users, with a 95 % paired bootstrap "
            "interval (1,000 resamples of the users, fixed seed):", "",
            "| dataset | first k items | over | NDCG@10 lead [95 % interval] |", "|---|---|---|---|"]
    for e in entries:
        for k, p in e["coldUsers"]["prefixes"].items():
            out += [f"| {e['dataset']} | {k} | {name} | {d['lead']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}] |"
                    for name, d in p.get("servedLeadNDCG@10", {}).items()]
    out.append("")
    for e in entries:
        c, m, t = e["coldUsers"], e["model"], e["model"].get("training", {})
        skipped = ", ".join(f"{p['skippedColdItems']} for k = {k}" for k, p in c["prefixes"].items())
        out += [f"- {e['dataset']}: {c['heldOutUsers']} of {e['users']} users held out ({skipped} left out for "
                f"held-out items); {c['protocol']}. Model `{m.get('version', '')}` trained with `{t.get('command')}` "
                f"(best epoch {t.get('bestEpoch')} of {t.get('epochsRun')}, {t.get('seconds', 0) / 60:.1f} min); "
                f"on its training users' test: HR@10 {m['test']['HR@10']:.4f}, NDCG@10 {m['test']['NDCG@10']:.4f}. "
                f"Evaluated with `{e['modelCommand']}`."]
    return "\n".join(out + [""])


def events_table(rows, split="test"):
    """rows: [(name, metrics entry {"valid", "test"})] -> a markdown table of `split`."""
    head = "| method | " + " | ".join(f"HR@{k} | NDCG@{k}" for k in KS) + " |\n|---|" + "---|" * (2 * len(KS))
    return "\n".join([head] + [row(name, m[split]) for name, m in rows])


def events_rows(metrics, label=""):
    """The model (as served, encoder alone) and the baselines of an events-format model.json's metrics."""
    rows = [(f"**model{label} (as served: scorer.onnx over all items)**", metrics),
            (f"model{label}, encoder inner product only", metrics["encoderOnly"])]
    return rows + list((metrics.get("baselines") or {}).items())


def split_lines(d):
    s = d["split"]

    def span(x):
        return f", last events {x['lastEventFrom'][:10]} … {x['lastEventTo'][:10]}" if "lastEventFrom" in x else ""

    if s["kind"] == "cutoff":
        out = [f"- **Cut-offs in time** ({s['cutoffsFrom']}): validation from {s['cutoffs']['valid']}, test from "
               f"{s['cutoffs']['test']}. Every event after a cut-off with an earlier event in its sequence is a "
               "target, predicted from all of that sequence's earlier events; the evaluated fit trains on the "
               f"{s['train']['events']} events before the validation cut-off ({s['train']['items']} items), the "
               "shipped files are its refit on every event (model.json training.fits). Targets on items unseen "
               "before the validation cut-off, or without a known earlier event, are not evaluated:"]
        for name in ("valid", "test"):
            x = s[name]
            out.append(f"  - {name}: {x['targets']} targets in {x['sequences']} sequences; **{x['evaluated']} "
                       f"evaluated** ({x['novelTargets']} novel, {x['repeatTargets']} repeat), "
                       f"{x['skippedUnknownTarget']} skipped for an unknown target, {x['skippedNoKnownInput']} for "
                       "no known input item.")
        return out
    if s["kind"] != "time":
        return [f"- Leave-one-out per sequence: {s['valid']['evaluated']} validation and {s['test']['evaluated']} "
                "test sequences (the second-to-last and the last event predicted from the events before them)."]
    out = [f"- **Split by time.** The sequences with 2 or more events are ordered by their last event time; the "
           f"newest {s['testFraction']:.0%} are test, the {s['validFraction']:.0%} before them validation, the rest "
           "training. Each held-out sequence predicts its **last item from the events before it** (the "
           "session-based protocol); full ranking over all items, ties count half.",
           f"- Training: {s['train']['sequences']} sequences, {s['train']['events']} events on vocabulary items"
           f"{span(s['train'])}. Single-event sequences train when they ended before the first validation "
           f"sequence; {s['leftOutSingleEvents']} later ones are left out.",
           "- The vocabulary is the items of the training sequences with 2 or more events (the items the encoder "
           "learns). Held-out events on other items are dropped from the inputs, as the gateway drops items the "
           "model does not know, and a held-out sequence whose target is such an item is not evaluated:"]
    for name in ("valid", "test"):
        x = s[name]
        out.append(f"  - {name}: {x['sequences']} sequences{span(x)}; **{x['evaluated']} evaluated**, "
                   f"{x['skippedUnknownTarget']} skipped for an unknown target, {x['skippedNoKnownInput']} for no "
                   "known input item.")
    return out


def events_card(model_dir, notes=None, ablation=None):
    """A model card (markdown) for an events-format model directory (train.py --events / --from-db)
    from its model.json; ablation: the directory of the same training without event features, whose
    numbers are put side by side (and, when both checkpoint.pt files are there, the paired NDCG@10
    difference on the same test sequences)."""
    meta = json.load(open(os.path.join(model_dir, "model.json")))
    d, m, t = meta["data"], meta["metrics"], meta["training"]
    abl = json.load(open(os.path.join(ablation, "model.json"))) if ablation else None
    where = os.path.relpath(os.path.abspath(model_dir), os.path.dirname(MODELS))
    src = "`" + os.path.join(where if not where.startswith("..") else os.path.abspath(model_dir), "model.json") + "`"
    out = [f"# Model card: {meta['version']}", "",
           f"Generated by `models/training/model_card.py` from {src}"
           + (f" and the ablation's `model.json` ({abl['version']})" if abl else "") + ".", ""]
    if notes:
        out += [open(notes).read().strip(), ""]
    out += [s for s in (category_section(meta),) if s]
    types = ", ".join(f"{k} {v}" for k, v in d["eventTypes"].items())
    obs = meta["observed"]
    out += ["## Data", "",
            f"- Dataset `{meta['dataset']}`, read from "
            + ("the database (`npm run train -- --from-db`)" if d["source"] == "database" else f"`{d['source']}`")
            + f": {d['sequences']} sequences, {d['events']} events ({types}), {d['eventsWithTime']} with a time.",
            f"- Vocabulary: {meta['numItems']} items, {meta['numAttributes']} categories (ids verbatim, as the "
            "gateway stores them).",
            f"- Observed in training (`model.json observed`): event types "
            f"{', '.join(obs['eventTypes']) or 'none'}, time gaps {'yes' if obs['timeGaps'] else 'no'}. The gateway feeds these as the encoder saw them and every other "
            "event type (and every gap, when none was observed) as unknown.", "",
            "## Split", ""] + split_lines(d) + [""]
    out += ["## Metrics", "", "Test:", "", events_table(events_rows(m)), "", "Validation (early stopping and the "
            "scorer's weights were chosen here):", "", events_table(events_rows(m), "valid"), ""]
    if m.get("testLeadNDCG@10"):
        out += ["The model's NDCG@10 lead over each baseline on the same test sequences, with a 95 % paired "
                "bootstrap interval (1,000 resamples, fixed seed):", "", "| over | NDCG@10 lead [95 % interval] |",
                "|---|---|"]
        out += [f"| {name} | {x['lead']:+.4f} [{x['low']:+.4f}, {x['high']:+.4f}] |"
                for name, x in m["testLeadNDCG@10"].items()]
        out.append("")
    if abl:
        both = events_rows(m, " with types and gaps")[:2] + events_rows(abl["metrics"], " without (constant)")[:2]
        out += ["## Ablation: event types and time gaps", "",
                "The same command with `--no-event-features`: every event type and time gap fed as unknown (1), as "
                f"for the Amazon data (`observed` {json.dumps(abl['observed'])}). Same split, vocabulary and seed.", "",
                "Test:", "", events_table(both), "", "Validation:", "", events_table(both, "valid"), ""]
        lead = paired_checkpoint_lead(model_dir, ablation)
        if lead:
            out += [f"Served NDCG@10 with minus without, on the same {lead['n']} test sequences: "
                    f"{lead['lead']:+.4f} [95 % paired bootstrap interval {lead['low']:+.4f}, {lead['high']:+.4f}].",
                    ""]
        out += [f"Ablation trained with `{abl['training']['command']}` (best epoch {abl['training']['bestEpoch']} of "
                f"{abl['training']['epochsRun']}, {abl['training']['seconds'] / 60:.1f} min).", ""]
    out += ["## Training", "",
            f"`{t['command']}`", "",
            f"Best epoch {t['bestEpoch']} of {t['epochsRun']}, {t['seconds'] / 60:.1f} min wall-clock including "
            f"baselines, content tower and export, {t['threads']} CPU threads. Scorer: category weight "
            f"{meta['scorer']['categoryWeight']}, Markov weights {meta['scorer']['markov']}"
            + (f", {meta['scorer']['markovItems']} newest items" if meta["scorer"].get("markovItems") else "")
            + (", co-occurrence weight {weight:g}, window {window}".format(**meta["scorer"]["cooccurrence"])
               if meta["scorer"].get("cooccurrence") else "") + ".", "",
            "```json", json.dumps(t["hyperParameters"], indent=1), "```", ""]
    sizes = {f: os.path.getsize(os.path.join(model_dir, f)) for f in sorted(os.listdir(model_dir))
             if not f.endswith(".pt") and f != "README.md"}
    out += ["## Files", "", "| file | bytes |", "|---|---|"] + [f"| {f} | {n:,} |" for f, n in sizes.items()]
    out += ["", f"Total {sum(sizes.values()):,} bytes (checkpoint.pt, for evaluation only, is not committed).", ""]
    return "\n".join(out)


def paired_checkpoint_lead(a_dir, b_dir):
    """The paired NDCG@10 lead of a over b from the test ranks their checkpoint.pt files keep, when
    both are there and ranked the same test sequences."""
    import torch

    from .metrics import paired_lead

    paths = [os.path.join(x, "checkpoint.pt") for x in (a_dir, b_dir)]
    if not all(os.path.exists(p) for p in paths):
        return None
    a, b = (torch.load(p).get("testRanks") for p in paths)
    if a is None or b is None or len(a) != len(b):
        return None
    return {"n": len(a), **paired_lead(a, b)}


def write_events_card(model_dir, notes=None, ablation=None, out=None):
    path = out or os.path.join(model_dir, "README.md")
    with open(path, "w") as f:
        f.write(events_card(model_dir, notes, ablation))
    print(f"wrote {path}", flush=True)


def events_section(entry, ablation):
    """MODEL_CARD.md's section on the events-format model recorded in metrics.json (and its ablation)."""
    s = entry["split"]
    out = ["## DIGINETICA, trained from the database (events with types and times, split by time)", "",
           f"{entry['sequences']} sequences, {entry['items']} items in the vocabulary; {entry['protocol']}; "
           f"{s['valid']['evaluated']} validation and {s['test']['evaluated']} test sequences evaluated. Model card "
           "with the data, the split and the limitations: `models/diginetica/README.md`.", "", "Test:", ""]
    rows = events_rows(entry["model"] | {"baselines": entry.get("baselines")}, " with event types and gaps")
    if ablation:
        rows[2:2] = events_rows(ablation["model"], " without (constant)")[:2]
    out += [events_table(rows), "", "Validation:", "", events_table(rows, "valid"), ""]
    out += [f"Command: `{entry['command']}`", ""] + ([f"Ablation: `{ablation['command']}`", ""] if ablation else [])
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=os.path.join(MODELS, "beauty"))
    p.add_argument("--metrics", default=os.path.join(MODELS, "metrics.json"))
    p.add_argument("--notes", default=os.path.join(TRAINING, "model_card_notes.md"),
                   help="hand-written prose (architecture, caveats) inserted after the header")
    p.add_argument("--out", default=os.path.join(MODELS, "MODEL_CARD.md"))
    p.add_argument("--events-model", metavar="DIR",
                   help="instead: write the card of an events-format model directory (train.py --events / "
                        "--from-db) to --out (default DIR/README.md); --notes optional there")
    p.add_argument("--ablation", metavar="DIR", help="with --events-model: the same training with --no-event-features")
    args = p.parse_args()
    if args.events_model:
        notes = args.notes if args.notes != p.get_default("notes") else None
        out = args.out if args.out != p.get_default("out") else None
        return write_events_card(args.events_model, notes, args.ablation, out)
    metrics = json.load(open(args.metrics))
    meta = json.load(open(os.path.join(args.model, "model.json")))
    sizes = {f: os.path.getsize(os.path.join(args.model, f)) for f in sorted(os.listdir(args.model))
             if not f.endswith(".pt")}
    hp = meta["training"]["hyperParameters"]
    out = [f"# Model card: {meta['version']}", "",
           "Generated by `models/training/model_card.py` from `models/metrics.json` and "
           f"`{os.path.relpath(args.model, os.path.dirname(MODELS))}/model.json`.", ""]
    if os.path.exists(args.notes):
        out += [open(args.notes).read().strip(), ""]
    sports = category_file_section(os.path.join(MODELS, "category-sports.json"),
                                   "Next-category forecast on Amazon Sports and Outdoors (measured; no model shipped)")
    out += [s for s in (category_section(meta), sports) if s]
    out += ["## Hyper-parameters of the shipped model", "", "```json", json.dumps(hp, indent=1), "```", "",
            f"Training: best epoch {meta['training']['bestEpoch']} of {meta['training']['epochsRun']}, "
            f"{meta['training']['seconds'] / 60:.1f} min wall-clock including content tower and export, "
            f"{meta['training']['threads']} CPU threads. Scorer category weight (chosen on validation): "
            f"{meta['scorer']['categoryWeight']}.", ""]
    out.append(section("Amazon Beauty, history excluded (the S3-Rec family's protocol; shipped selection)",
                       metrics.get("beauty-history-excluded")))
    out.append(section("Amazon Beauty, all items ranked", metrics.get("beauty")))
    out.append(markov_items_section(metrics.get("beauty-markov-items")))
    out.append(section("Amazon Sports and Outdoors, history excluded",
                       metrics.get("sports_and_outdoors-history-excluded")))
    out.append(section("Amazon Sports and Outdoors, all items ranked", metrics.get("sports_and_outdoors")))
    cold = metrics.get("beauty-coldstart", {}).get("model", {}).get("coldStart")
    out.append("## Cold start (Beauty, 5% of items held out of training entirely)\n")
    if cold:
        c = metrics["beauty-coldstart"]
        out += ["| targets | users | HR@20 | NDCG@20 | HR@10 | NDCG@10 |", "|---|---|---|---|---|---|"]
        for name, m in cold.items():
            if isinstance(m, dict):
                out.append(f"| {name} | {m['users']} | {m['HR@20']:.4f} | {m['NDCG@20']:.4f} | "
                           f"{m['HR@10']:.4f} | {m['NDCG@10']:.4f} |")
        out += ["", f"Held-out items: {cold['heldOutItems']}. Command: `{c.get('modelCommand') or c.get('command')}`", ""]
        t = c["model"].get("training", {})
        if t.get("command"):
            out += [f"Trained with `{t['command']}` (best epoch {t['bestEpoch']} of {t['epochsRun']}, "
                    f"{t['seconds'] / 60:.1f} min)."
                    + (f" The encoder came from `{t['encoderCommand']}`." if t.get("encoderCommand") else ""), ""]
    else:
        out += ["(not evaluated)", ""]
    out.append(cold_users_section(metrics))
    if metrics.get("diginetica-time"):
        out.append(events_section(metrics["diginetica-time"], metrics.get("diginetica-time-no-event-features")))
    out += ["## Files", "", "| file | bytes |", "|---|---|"] + [f"| {f} | {s:,} |" for f, s in sizes.items()]
    out.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(out))
    print(f"wrote {args.out}")
