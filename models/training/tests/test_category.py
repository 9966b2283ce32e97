"""The next-category rules, metrics and pooled forecaster (foresight_training/category/) on tiny
hand-made histories whose answers are worked out by hand."""
import math

import numpy as np
import pytest
import torch

from foresight_training.category.data import Target, Tasks, attribute_roles, deepest_category, level_map, most_specific, tree_depth
from foresight_training.category.metrics import log_losses, paired_bootstrap, reliability, topk_hits
from foresight_training.category.pool import FEATURES, RULE_FEATURES, distribution, feature_tensor, fit, transition_matrix
from foresight_training.category.rules import DECAY, MARKOV_PRIOR, RuleTables, rule_distributions, session_start

# categories 1..3; three training sequences of (item, category, time)
TRAIN = [[("a", 1, None), ("b", 2, None), ("c", 2, None)],
         [("d", 1, None), ("b", 2, None)],
         [("e", 3, None)]]


def test_the_most_specific_attribute_is_the_rarest_ties_by_lower_id():
    attrs = {1: [10, 20], 2: [10, 30], 3: [10, 20, 40], 4: [50, 60]}
    assert most_specific(attrs) == {1: 20, 2: 30, 3: 40, 4: 50}


# the hand-made lists of test/import/amazon.test.ts: the Python port must read them as the
# gateway's importer does (brands 8 and 9; 1 › 2 › 3, 4 › 7, 5 › 6)
LISTS = [[9, 1, 2, 3], [1, 2, 3], [9, 4, 2], [4, 7], [1, 2], [5, 6], [8, 4]]


def test_brands_and_parents_are_the_importers():
    brands, parents = attribute_roles(LISTS)
    assert brands == {8, 9}
    assert parents == {1: None, 2: 1, 3: 2, 4: None, 5: None, 6: 5, 7: 4}


def test_an_items_category_is_the_last_of_its_list_that_is_no_brand():
    brands, _ = attribute_roles(LISTS)
    assert deepest_category({10: [9, 1, 2, 3], 11: [8, 4], 12: [9]}, brands) == {10: 3, 11: 4}


def test_level_maps_send_each_category_to_its_ancestor_at_that_depth():
    # indices 1..4: 1 a root, 2 under 1, 3 under 2, 4 a root
    tasks = Tasks("t", [None, "a", "b", "c", "d"], {}, train=[], parents={1: 0, 2: 1, 3: 2, 4: 0})
    assert tree_depth(tasks) == 3
    assert level_map(tasks, 1).tolist() == [0, 1, 1, 1, 4]
    assert level_map(tasks, 2).tolist() == [0, 1, 2, 2, 4]
    assert level_map(tasks, 3).tolist() == [0, 1, 2, 3, 4]
    assert level_map(Tasks("t", [None, "a"], {}, train=[]), 1) is None


def test_popularity_counts_training_events_with_half_a_pseudo_count():
    t = RuleTables(3, TRAIN)
    # counts 2, 3, 1 (+0.5 each) over 7.5
    assert t.popularity.tolist() == pytest.approx([0, 2.5 / 7.5, 3.5 / 7.5, 1.5 / 7.5])


def test_transitions_shrink_the_observed_next_categories_towards_popularity():
    t = RuleTables(3, TRAIN)
    p = t.markov(1)  # 1→2 twice
    assert p[2] == pytest.approx((2 + MARKOV_PRIOR * t.popularity[2]) / (2 + MARKOV_PRIOR))
    assert p[3] == pytest.approx(MARKOV_PRIOR * t.popularity[3] / (2 + MARKOV_PRIOR))
    assert p.sum() == pytest.approx(1.0)
    assert t.markov(3).tolist() == pytest.approx(t.popularity.tolist())  # never followed: popularity


def test_recency_weighs_each_event_by_decay_to_the_power_of_the_events_after_it():
    t = RuleTables(3, TRAIN)
    d = rule_distributions(t, [1, 2, 1], [None] * 3)
    total = DECAY ** 2 + DECAY + 1
    assert d["recency"][1] == pytest.approx((DECAY ** 2 + 1) / total)
    assert d["recency"][2] == pytest.approx(DECAY / total)
    assert d["last"].tolist() == [0, 1, 0, 0]


def test_a_session_ends_at_a_gap_over_half_an_hour_and_without_times_is_the_last_five():
    assert session_start([0, 100, 5000, 5100]) == 2
    assert session_start([0, 100]) == 0
    assert session_start([None] * 8) == 3
    d = rule_distributions(RuleTables(3, TRAIN), [3, 1, 2], [0, 4000, 4100])
    assert d["session"].tolist() == pytest.approx([0, 0.5, 0.5, 0])


def test_topk_counts_ties_against_the_target():
    scores = np.array([[0, 0.5, 0.5, 0.0], [0, 0.1, 0.7, 0.2]])
    assert topk_hits(scores, [1, 3], 1).tolist() == [0.0, 0.0]
    assert topk_hits(scores, [1, 3], 2).tolist() == [1.0, 1.0]


def test_log_loss_and_reliability_of_a_distribution():
    probs = np.array([[0, 0.8, 0.2], [0, 0.3, 0.7], [0, 0.6, 0.4]])
    assert log_losses(probs, [1, 1, 2]).tolist() == pytest.approx([-math.log(0.8), -math.log(0.3), -math.log(0.4)])
    r = reliability(probs, [1, 1, 2])
    # bins [0.6, 0.7): conf 0.6, wrong; [0.7, 0.8): conf 0.7, wrong; [0.8, 0.9): conf 0.8, right
    assert [(b["n"], b["accuracy"]) for b in r["bins"]] == [(1, 0.0), (1, 0.0), (1, 1.0)]
    assert r["ece"] == pytest.approx((0.6 + 0.7 + 0.2) / 3)


def test_the_paired_bootstrap_interval_covers_a_constant_difference_exactly():
    out = paired_bootstrap([1, 1, 0, 1], [0, 1, 0, 0], [0, 1, 2, 3], samples=200)
    assert out["mean"] == 0.5 and 0 <= out["low"] <= 0.5 <= out["high"] <= 1
    same = paired_bootstrap([1, 0], [1, 0], [0, 1], samples=50)
    assert same == {"mean": 0.0, "low": 0.0, "high": 0.0}


def test_the_pool_with_the_last_rule_weighted_alone_is_a_softmax_of_it():
    t = RuleTables(3, TRAIN)
    target = Target([1, 2], ["a", "b"], [None, None], 2, 0)
    F = feature_tensor(t, transition_matrix(t), [target], None, RULE_FEATURES)
    w = torch.zeros(len(RULE_FEATURES))
    w[RULE_FEATURES.index("last")] = 2.0
    p = distribution(F, w)[0].numpy()
    e = math.exp(2.0)
    assert p.tolist() == pytest.approx([0, 1 / (e + 2), e / (e + 2), 1 / (e + 2)], rel=1e-5)


def test_fitted_weights_find_the_rule_that_predicts_the_targets():
    t = RuleTables(3, TRAIN)
    # the target is always the last event's category: the fit puts weight on `last`
    targets = [Target(c, ["x"] * len(c), [None] * len(c), c[-1], k)
               for k, c in enumerate([[1, 2], [2, 3], [3, 1], [1, 3], [2, 1], [3, 2]])]
    F = feature_tensor(t, transition_matrix(t), targets, np.zeros((6, 4), np.float32), FEATURES)
    w = fit(F, [x.target for x in targets])
    p = distribution(F, w).numpy()
    assert (p.argmax(1) == [x.target for x in targets]).all()
    assert p[np.arange(6), [x.target for x in targets]].min() > 0.5


def test_the_rules_read_back_from_the_features_leave_the_padding_at_zero():
    from foresight_training.category.pool import rule_dists
    t = RuleTables(3, TRAIN)
    target = Target([1, 2], ["a", "b"], [None, None], 2, 0)
    F = feature_tensor(t, transition_matrix(t), [target], np.zeros((1, 4), np.float32), FEATURES)
    d = rule_dists(F)
    want = rule_distributions(t, [1, 2], [None, None])
    for r in ("last", "recency", "session", "popularity", "transitions"):
        assert d[r][0].numpy().tolist() == pytest.approx(want[r].tolist(), abs=1e-5), r


def test_a_rule_ties_are_broken_by_popularity_in_the_measured_ranking():
    # two categories share the session equally: the more popular one is the rule's top-1
    from foresight_training.category.pool import rule_dists
    from foresight_training.category.run import Scored
    t = RuleTables(3, TRAIN)  # popularity: 2 > 1 > 3
    target = Target([1, 2], ["a", "b"], [None, None], 2, 0)
    F = feature_tensor(t, transition_matrix(t), [target], np.zeros((1, 4), np.float32), FEATURES)
    d = rule_dists(F)["session"].double().numpy()
    s = Scored()
    s.add(d, d + 1e-6 * t.popularity, np.array([2]))
    assert s.summary()["top1"] == 1.0


def test_the_boosted_mix_keeps_the_commonest_move_first_without_losing_log_loss():
    from foresight_training.category.run import BOOSTS, evaluate_rules, fit_mix
    rng = np.random.default_rng(3)
    # shoppers go back to the last event's category 60 % of the time, else anywhere
    def sequence(n):
        cats = [int(rng.integers(1, 6))]
        while len(cats) < n:
            cats.append(cats[-1] if rng.random() < 0.6 else int(rng.integers(1, 6)))
        return cats
    train = [[(f"i{c}", c, None) for c in sequence(6)] for _ in range(300)]
    targets = [Target(c[:-1], [f"i{x}" for x in c[:-1]], [None] * 4, c[-1], k) for k, c in enumerate(sequence(5) for _ in range(800))]
    tables = RuleTables(5, train)
    ctx = {"tables": tables, "markov": transition_matrix(tables), "catnet": None, "vocab": None}
    eps = {"last": 0.1}
    w, b = fit_mix(ctx, targets, RULE_FEATURES, "last", eps)
    assert b in BOOSTS
    F = feature_tensor(tables, ctx["markov"], targets, None, RULE_FEATURES)
    y = np.array([t.target for t in targets])
    p = distribution(F, w).numpy()
    rule = evaluate_rules(ctx, targets, eps)["last"]
    assert topk_hits(p, y, 1).mean() >= rule.get("hit1").mean()
    assert log_losses(p, y).mean() <= rule.get("ll").mean()


def test_the_item_ranking_table_marks_the_chosen_weight_and_says_whether_it_gains():
    from foresight_training.category.card import item_ranking

    def row(w, ndcg):
        m = {"HR@10": 0.09, "NDCG@10": ndcg, "HR@20": 0.12, "NDCG@20": 0.065}
        return {"weight": w, "valid": m, "test": m}

    r = {"note": "n", "command": "c", "grid": [row(0.0, 0.0576), row(0.05, 0.0577)], "chosenOnValidation": 0.05,
         "testWithChosen": {"HR@10": 0.09, "NDCG@10": 0.0577}}
    text = "\n".join(item_ranking(r))
    assert "| **0.05** |" in text and "| 0 |" in text
    assert "+0.0001" in text and "carry the category signal already" in text
    r["testWithChosen"] = {"HR@10": 0.1, "NDCG@10": 0.0600}
    assert "a gain the gateway does not take" in "\n".join(item_ranking(r))
    assert item_ranking(None) == []


def test_an_anchored_mix_ranks_the_rules_choice_first_and_keeps_the_rest_in_order():
    from foresight_training.category.pool import anchored
    pop = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
    p = np.array([[0.0, 0.5, 0.3, 0.15, 0.05],   # the rule's choice (3) ranked third
                  [0.0, 0.1, 0.2, 0.6, 0.1],     # already the strict top: unchanged
                  [0.0, 0.4, 0.2, 0.4, 0.0]])    # tied with another: moved above it
    rule = np.zeros((3, 5))
    rule[:, 3] = 1.0
    a = anchored(p, rule, pop)
    assert np.allclose(a.sum(1), 1.0) and (a[:, 0] == 0).all()
    assert (a.argmax(1) == 3).all()
    assert np.array_equal(a[1], p[1])
    for r in (0, 2):
        rest = [c for c in range(1, 5) if c != 3]
        assert list(np.argsort(-a[r, rest], kind="stable")) == list(np.argsort(-p[r, rest], kind="stable"))
        # the smallest move: the anchored category just above the top of the others
        assert a[r, 3] - max(a[r, rest]) < 1e-5
    # the rule's ties go to the more popular category, as the rule is scored
    tie = np.array([[0.0, 0.0, 0.5, 0.5, 0.0]])
    assert anchored(np.array([[0.0, 0.7, 0.1, 0.1, 0.1]]), tie, pop).argmax(1)[0] == 3
