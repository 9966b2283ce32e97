"""Renders models/MODEL_CARD.md from models/metrics.json and the shipped model directory, so every
number in the card comes from a file that names the command that produced it.

  /usr/bin/python3 models/training/model_card.py [--model models/beauty] [--parity-max-diff X]
"""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.abspath(os.path.join(HERE, ".."))
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=os.path.join(MODELS, "beauty"))
    p.add_argument("--metrics", default=os.path.join(MODELS, "metrics.json"))
    p.add_argument("--notes", default=os.path.join(HERE, "model_card_notes.md"),
                   help="hand-written prose (architecture, caveats) inserted after the header")
    p.add_argument("--out", default=os.path.join(MODELS, "MODEL_CARD.md"))
    args = p.parse_args()
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
    out += ["## Files", "", "| file | bytes |", "|---|---|"] + [f"| {f} | {s:,} |" for f, s in sizes.items()]
    out.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
