"""The full-ranking metrics of the sequence model (sequence/metrics.py) on values worked out by hand."""
import math

import numpy as np
import pytest
import torch

from foresight_training.sequence.metrics import exclude_inputs, paired_lead, ranks_from_scores, summarize


def test_a_rank_counts_the_higher_items_and_half_the_ties_never_the_padding():
    scores = torch.tensor([[5.0, 0.5, 0.9, 0.5, 0.1],
                           [5.0, 0.2, 0.2, 0.2, 0.2]])
    # row 0: item 2 scores higher, item 3 ties; row 1: a constant score ranks the target mid-field
    assert ranks_from_scores(scores, torch.tensor([1, 4])).tolist() == [1.5, 1.5]
    assert scores[0, 0] == 5.0  # the caller's scores are left as they were


def test_summarize_gives_hit_rate_and_ndcg_at_each_cutoff():
    m = summarize([0, 1, 25])
    assert m["users"] == 3
    assert m["HR@5"] == pytest.approx(2 / 3) and m["HR@20"] == pytest.approx(2 / 3)
    assert m["NDCG@10"] == pytest.approx((1 + 1 / math.log2(3)) / 3)
    assert summarize([]) == {"users": 0, **{f"{k}@{n}": 0.0 for n in (5, 10, 20) for k in ("HR", "NDCG")}}


def test_history_excluded_removes_each_pairs_own_input_items():
    scores = exclude_inputs(torch.zeros(2, 5), [([1, 3], 4), ([], 2)])
    assert torch.isinf(scores[0, [1, 3]]).all() and scores[0, [0, 2, 4]].eq(0).all()
    assert scores[1].eq(0).all()


def test_paired_lead_is_the_mean_gain_difference_with_its_interval():
    same = paired_lead([0, 3, 50], [0, 3, 50])
    assert same == {"lead": 0.0, "low": 0.0, "high": 0.0}
    # a always first, b never in the top 10: NDCG@10 1 against 0 for every user
    assert paired_lead(np.zeros(8), np.full(8, 100.0)) == {"lead": 1.0, "low": 1.0, "high": 1.0}
