"""A shop's own data through the next-category forecaster (foresight_training/category/own_data.py):
its tasks on the item model's split, and the forecaster shipped into a model directory."""
import argparse
import json
import os

import numpy as np

from foresight_training.category.data import level_map, load_events_tasks
from foresight_training.category.own_data import forecaster_for_events

H = 3600 * 1000  # an hour in ms
TREE = {"s:shoes": "s:fashion", "s:bags": "s:fashion", "s:fashion": None, "s:toys": None}
ATTRS = {"s:1": ["s:shoes", "s:fashion"], "s:2": ["s:fashion", "s:bags"], "s:3": ["s:toys"], "s:4": []}


def test_cutoff_tasks_take_every_later_event_as_a_target_with_all_before_it_as_input():
    raw = [("user:a", [("s:1", "VIEW", 1 * H), ("s:2", "VIEW", 2 * H), ("s:3", "CART", 5 * H), ("s:1", "VIEW", 8 * H)]),
           ("user:b", [("s:4", "VIEW", 1 * H), ("s:3", "VIEW", 6 * H)])]
    tasks = load_events_tasks("s", raw, ATTRS, TREE, {"kind": "cutoff", "valid": 4 * H, "test": 7 * H})
    # an item's category: the deepest of its categories (s:1 → shoes, s:2 → bags); ancestors indexed
    assert tasks.categories == [None, "s:bags", "s:fashion", "s:shoes", "s:toys"]
    assert [tasks.item_category[i] for i in ("s:1", "s:2", "s:3")] == [3, 1, 4]
    assert "s:4" not in tasks.item_category
    # statistics learn from the events before T_valid; the refit from all of them
    assert [[c for _, c, _ in s] for s in tasks.train] == [[3, 1]]
    assert [[c for _, c, _ in s] for s in tasks.refit] == [[3, 1, 4, 3], [4]]
    # a's toys (5h) is a validation target, its shoes (8h) a test target; b's toys has no input with
    # a category (its only earlier event is on an item without one)
    assert [(t.cats, t.target, t.types) for t in tasks.valid] == [([3, 1], 4, ["VIEW", "VIEW"])]
    assert [(t.cats, t.target) for t in tasks.test] == [([3, 1, 4], 3)]
    assert tasks.valid[0].times == [1 * 3600.0, 2 * 3600.0]
    # the tree: shoes and bags under fashion, so at depth 1 both are fashion
    assert level_map(tasks, 1).tolist() == [0, 2, 2, 2, 4]


def test_leave_one_out_tasks_without_times():
    raw = [("user:a", [("s:1", "VIEW", None), ("s:2", "VIEW", None), ("s:3", "VIEW", None), ("s:1", "VIEW", None)])]
    tasks = load_events_tasks("s", raw, ATTRS, {}, {"kind": "loo"})
    # no tree: an item's category is the first it lists (the API's order: most specific first)
    assert tasks.parents == {}
    assert tasks.categories == [None, "s:fashion", "s:shoes", "s:toys"]
    assert [(t.cats, t.target) for t in tasks.valid] == [([2, 1], 3)]
    assert [(t.cats, t.target) for t in tasks.test] == [([2, 1, 3], 2)]
    assert tasks.refit is None


def shop(n_users, seed=0):
    """A shop whose shoppers mostly stay in their last category: 4 categories of 5 items each."""
    rng = np.random.default_rng(seed)
    attrs = {f"s:{i}": [f"s:c{i % 4}"] for i in range(20)}
    raw = []
    for u in range(n_users):
        t, c, events = int(rng.integers(0, 100)) * H, int(rng.integers(0, 4)), []
        for _ in range(int(rng.integers(4, 9))):
            c = c if rng.random() < 0.7 else int(rng.integers(0, 4))
            events.append((f"s:{c + 4 * int(rng.integers(0, 5))}", "VIEW", t))
            t += int(rng.integers(1, 30)) * H
        raw.append((f"user:{u}", events))
    return raw, attrs


def model_dir(tmp_path):
    d = tmp_path / "model"
    d.mkdir()
    (d / "model.json").write_text(json.dumps({"dataset": "s", "files": {}, "metrics": {}}))
    return str(d)


def test_a_shop_model_ships_a_forecaster_no_worse_than_the_best_rule_on_validation(tmp_path):
    raw, attrs = shop(600)
    out = model_dir(tmp_path)
    args = argparse.Namespace(dataset="s", out=out, seed=0)
    times = sorted(t for _, ev in raw for _, _, t in ev)
    split = {"kind": "cutoff", "valid": _iso(times[int(0.8 * len(times))]), "test": _iso(times[int(0.9 * len(times))])}
    metrics = forecaster_for_events(args, (raw, attrs, {}), split, log=lambda *a, **k: None)
    manifest = json.load(open(os.path.join(out, "model.json")))
    assert manifest["files"]["category"] == "category.json"
    assert manifest["metrics"]["category"]["forecaster"] == metrics["forecaster"]
    spec = json.load(open(os.path.join(out, "category.json")))
    assert spec["categories"] == ["s:c0", "s:c1", "s:c2", "s:c3"]
    # what is served is at least as good as the best rule on validation (the decision's rule)
    best = metrics["bestRuleOnValidation"]
    shipped = metrics["rule"] or {"MODEL_MIX": "modelMix", "RULES_MIX": "rulesMix"}[metrics["forecaster"]]
    assert metrics["valid"][shipped]["top1"] >= metrics["valid"][best]["top1"]
    # the served statistics are counted on every event, the measured ones before T_valid
    assert "every sequence" in metrics["servedStatistics"]
    assert os.path.exists(os.path.join(out, "catnet.onnx")) == (metrics["forecaster"] == "MODEL_MIX")


def test_too_few_targets_keep_the_head_and_say_why(tmp_path):
    raw, attrs = shop(8)
    out = model_dir(tmp_path)
    args = argparse.Namespace(dataset="s", out=out, seed=0)
    assert forecaster_for_events(args, (raw, attrs, {}), {"kind": "loo"}, log=lambda *a, **k: None) is None
    manifest = json.load(open(os.path.join(out, "model.json")))
    assert "too few" in manifest["metrics"]["category"]["skipped"]
    assert "category" not in manifest["files"]


def _iso(ms):
    import datetime
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat()


def test_too_many_categories_for_the_dense_tables_are_refused_by_name(tmp_path):
    from foresight_training.category import own_data
    raw, _ = shop(10)
    attrs = {f"s:{i}": [f"s:c{i}"] for i in range(20)}
    out = model_dir(tmp_path)
    limit, own_data.MAX_CATEGORIES = own_data.MAX_CATEGORIES, 19
    try:
        args = argparse.Namespace(dataset="s", out=out, seed=0)
        assert forecaster_for_events(args, (raw, attrs, {}), {"kind": "loo"}, log=lambda *a, **k: None) is None
    finally:
        own_data.MAX_CATEGORIES = limit
    skipped = json.load(open(os.path.join(out, "model.json")))["metrics"]["category"]["skipped"]
    assert "20 categories, more than the 19" in skipped


def test_a_malformed_category_tree_file_is_refused_naming_the_file_and_its_shape(tmp_path):
    import pytest
    from foresight_training.category.own_data import read_tree
    bad = tmp_path / "categories.json"
    bad.write_text(json.dumps({"s:shoes": 7}))
    with pytest.raises(SystemExit, match=r'categories\.json: expected \{"<category id>": "<parent id>" or null'):
        read_tree(str(bad))
    bad.write_text(json.dumps(["s:shoes"]))
    with pytest.raises(SystemExit, match="expected"):
        read_tree(str(bad))
    bad.write_text("{not json")
    with pytest.raises(SystemExit, match=r"categories\.json: not JSON"):
        read_tree(str(bad))
    good = tmp_path / "tree.json"
    good.write_text(json.dumps({"s:shoes": "s:fashion", "s:fashion": None}))
    assert read_tree(str(good)) == {"s:shoes": "s:fashion", "s:fashion": None}
    assert read_tree(None) == {}
