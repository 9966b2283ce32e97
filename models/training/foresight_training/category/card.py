"""The model card's next-category section, from model.json `metrics.category` (written by
run.py, and head.py for the item model's own category head)."""

NAMES = {"modelMix": "catnet + rules (MODEL_MIX)", "rulesMix": "rules mix (RULES_MIX)", "catnet": "catnet alone",
         "modelMixAnchored": "MODEL_MIX anchored on the best rule", "rulesMixAnchored": "RULES_MIX anchored on the best rule",
         "last": "rule: last event's category", "recency": "rule: recency-weighted frequency",
         "session": "rule: session frequency", "popularity": "rule: global popularity",
         "transitions": "rule: category transitions (label Markov)",
         "segment": "rule: segment popularity (measured, not served)"}
ORDER = ("modelMix", "modelMixAnchored", "rulesMix", "rulesMixAnchored", "catnet", "last", "recency", "session", "transitions", "popularity", "segment")


def _iv(x):
    return f"{x['mean']:+.3f} [{x['low']:+.3f}, {x['high']:+.3f}]"


def category_section(meta):
    """The section of a model's card: its model.json `metrics.category`."""
    m = (meta.get("metrics") or {}).get("category")
    title = "Next-category forecast (`interestForecast.categories`)"
    if m and "skipped" in m:
        return f"## {title}\n\nNo forecaster shipped: {m['skipped']}. Forecasts use the item model's category head.\n"
    return category_report(m, title) if m else ""


def category_file_section(path, title):
    """A measured dataset without a shipped model (run.py's metrics.json saved under models/)."""
    import json
    import os
    return category_report(json.load(open(path)), title) if os.path.exists(path) else ""


def category_report(m, title):
    shipped = m["rule"] if m["forecaster"] == "RULE" else {"MODEL_MIX": "modelMix", "RULES_MIX": "rulesMix"}[m["forecaster"]]
    if m.get("anchor"):
        shipped += "Anchored"
    out = [f"## {title}", "",
           f"Level: {m['level']} ({m['categories']} categories). {'Served' if m.get('shipped', True) else 'Chosen'} forecaster: **{m['forecaster']}**"
           + (f" (rule `{m['rule']}`)" if m["rule"] else "")
           + (f", anchored on `{m['anchor']}` (that rule's top category first, the mix's order for the rest)"
              if m.get("anchor") else "")
           + f"; best rule on validation: `{m['bestRuleOnValidation']}`. Split: {m['split']['kind']}"
           + (f" (targets after {m['split']['validFrom']} / {m['split']['testFrom']})" if m['split']['kind'] == 'time' else "")
           + f". {m['valid']['note']}. Reproduce: `{m['command']}`.", "",
           "| forecaster | valid top-1 | valid top-5 | valid log loss | test top-1 | test top-5 | test log loss |",
           "|---|---|---|---|---|---|---|"]
    for k in ORDER:
        v, t = m["valid"].get(k), m["test"].get(k)
        if t:
            bold = "**" if k == shipped else ""
            vs = f"{v['top1']:.3f} | {v['top5']:.3f} | {v['logLoss']:.3f}" if v else " | "
            out.append(f"| {bold}{NAMES[k]}{bold} | {vs} | {t['top1']:.3f} | {t['top5']:.3f} | {t['logLoss']:.3f} |")
    head = m.get("sequenceModelHead")
    if head:
        h = head["head"]
        out.append(f"| the item model's category head ({head['targets']} test targets) | | | | {h['top1']:.3f} | "
                   f"{h['top5']:.3f} | {h['logLoss']:.3f} |")
    if head and head["targets"] != m["test"][shipped]["targets"]:
        best = max(head["rules"], key=lambda r: head["rules"][r]["top1"])
        x = head["headLeadOverRules"][best]
        out += ["", f"The head is scored on the {head['targets']} test targets whose history has an item the item "
                f"model knows; there the best rule (`{best}`) reaches top-1 {head['rules'][best]['top1']:.3f}, top-5 "
                f"{head['rules'][best]['top5']:.3f} (head − rule: top-1 {_iv(x['top1'])}, top-5 {_iv(x['top5'])})."]
    out += ["", f"Test lead of the served forecaster over each rule ({m['testLeadOverRules']['intervals']}; "
            "log loss: negative is better):", "",
            "| rule | top-1 | top-5 | log loss |", "|---|---|---|---|"]
    for r in ("last", "recency", "session", "transitions", "popularity"):
        x = m["testLeadOverRules"][r]
        out.append(f"| {r} | {_iv(x['top1'])} | {_iv(x['top5'])} | {_iv(x['logLoss'])} |")
    x = m["testLeadModelMixOverBestRule"]
    v = m.get("validLeadOverBestRule", {}).get("modelMix")
    out += ["", f"Decision: {m.get('decision', 'the first mix at least as good as the best rule on validation')}."
            + (f" MODEL_MIX over the best rule on validation: top-1 {_iv(v['top1'])}, top-5 {_iv(v['top5'])}, "
               f"log loss {_iv(v['logLoss'])}." if v else "")
            + f" On test: top-1 {_iv(x['top1'])}, top-5 {_iv(x['top5'])}, log loss {_iv(x['logLoss'])}.", ""]
    rel = m["test"][shipped].get("reliability")
    if rel:
        out += [f"Reliability of the served distribution's top-1 probability on test (ECE {rel['ece']:.3f}):", "",
                "| top-1 probability | targets | mean probability | accuracy |", "|---|---|---|---|"]
        out += [f"| {b['from']:.1f}–{b['to']:.1f} | {b['n']} | {b['confidence']:.3f} | {b['accuracy']:.3f} |"
                for b in rel["bins"]]
        out.append("")
    if m["weights"]:
        w = ", ".join(f"{f} {x:+.3f}" for f, x in zip(m["features"], m["weights"]))
        b = m.get("boost")
        out.append(f"Conditional-logit weights (fitted on the validation targets): {w}."
                   + (f" They include a boost of {b['chosen'][shipped.removesuffix('Anchored')]:g} on `{b['of']}` "
                      f"({b['note']})." if b else ""))
    else:
        share = m["ruleSettings"]["logLossPopularityShare"].get(m["rule"], 0.0)
        out.append(f"The rule is served with {share:g} of popularity mixed in (chosen on validation log loss), "
                   "so that every category keeps some probability.")
    out.append(f"\nSegment popularity: {m['segmentPopularity']}.")
    out += tree_levels(m.get("treeLevels"))
    out += item_ranking(m.get("itemRanking"))
    return "\n".join(out) + "\n"


def tree_levels(t):
    """The served forecast at each depth of the category tree, against the rules at that depth."""
    if not t:
        return []
    out = ["", f"At each level of the category tree ({t['note']}; lead: 95 % paired bootstrap over sequences):", "",
           "| depth | categories | served top-1 | served top-5 | best rule (on validation) | rule top-1 | rule top-5 "
           "| lead top-1 | lead top-5 | lead log loss |", "|---|---|---|---|---|---|---|---|---|---|"]
    for lv in t["levels"]:
        s, r, x = lv["served"], lv["rules"][lv["bestRuleOnValidation"]], lv["leadOverBestRule"]
        out.append(f"| {lv['depth']} | {lv['categories']} | {s['top1']:.3f} | {s['top5']:.3f} | "
                   f"{lv['bestRuleOnValidation']} | {r['top1']:.3f} | {r['top5']:.3f} | {_iv(x['top1'])} | "
                   f"{_iv(x['top5'])} | {_iv(x['logLoss'])} |")
    return out


def item_ranking(r):
    """Whether the item ranking would gain from the forecaster (item_term.py; measured, not served)."""
    if not r:
        return []
    out = ["", f"Items ranked with the forecaster ({r['note']}; reproduce: `{r['command']}`):", "",
           "| w | valid HR@10 | valid NDCG@10 | test HR@10 | test NDCG@10 | test HR@20 | test NDCG@20 |",
           "|---|---|---|---|---|---|---|"]
    for row in r["grid"]:
        v, t = row["valid"], row["test"]
        bold = "**" if row["weight"] == r["chosenOnValidation"] else ""
        out.append(f"| {bold}{row['weight']:g}{bold} | {v['HR@10']:.4f} | {v['NDCG@10']:.4f} | {t['HR@10']:.4f} | "
                   f"{t['NDCG@10']:.4f} | {t['HR@20']:.4f} | {t['NDCG@20']:.4f} |")
    base = next(row["test"] for row in r["grid"] if row["weight"] == 0)
    chosen = r["testWithChosen"]
    out += ["", f"Validation chooses w = {r['chosenOnValidation']:g}; on test that moves NDCG@10 by "
            f"{chosen['NDCG@10'] - base['NDCG@10']:+.4f} and HR@10 by {chosen['HR@10'] - base['HR@10']:+.4f}"
            + ("; the scorer's Markov and co-occurrence terms carry the category signal already, and the gateway's "
               "scorer does not read the forecaster." if chosen["NDCG@10"] - base["NDCG@10"] < 0.001 else
               ": a gain the gateway does not take, as its scorer does not read the forecaster.")]
    return out
