"""Cold-item features (foresight_training/sequence/cold_items.py) on inputs whose values are known
by construction; the gateway's side is checked against the same definitions on real pairs
(test/forecast/cold-items.test.ts, test/fixtures/cold-parity.json)."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from foresight_training.sequence.cold_items import (  # noqa: E402
    FEATURES, NEIGHBOURS, attribute_onehot, cold_features, neighbours)


def toy():
    # 25 model items on a 4-d space: item k points along axis k % 4, with a small tilt
    content = torch.zeros(26, 4)
    for k in range(1, 26):
        content[k, k % 4] = 1.0
        content[k, (k + 1) % 4] = 0.01 * k
    content[4] = 0.0  # a held-out item: never a neighbour
    return content


def test_neighbours_skip_zero_rows_and_weights_sum_to_one():
    content = toy()
    cold = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    j, w = neighbours(cold, content, 5)
    assert 4 not in j[0].tolist() and 0 not in j[0].tolist()
    # items along axis 0 (k % 4 == 0) come first, the least tilted nearest
    assert j[0].tolist()[:3] == [8, 12, 16]
    assert abs(float(w.sum()) - 1.0) < 1e-6 and bool((w[0, :-1] >= w[0, 1:]).all())


def test_features_by_construction():
    content = toy()
    cold = torch.tensor([[2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]])
    nbrs = {k: neighbours(cold, content, k) for k in NEIGHBOURS}
    item_attrs = torch.zeros(26, 2, dtype=torch.long)
    item_attrs[8] = torch.tensor([1, 2])
    item_attrs[6] = torch.tensor([2, 0])
    onehot = attribute_onehot(item_attrs, 3)
    cold_onehot = torch.tensor([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    term = torch.zeros(1, 26)
    term[0, 8] = 2.0  # the terms lift item 8, the first cold item's nearest neighbour
    history = torch.tensor([[6, 8, 0]])  # newest first; one slot of padding
    dot = torch.tensor([[0.5, -0.25]])
    f = cold_features(dot, term, history, cold, cold_onehot, content, onehot, nbrs)
    col = {name: k for k, name in enumerate(FEATURES)}
    assert f.shape == (1, 2, len(FEATURES))
    assert f[0, 0, col["innerProduct"]] == 0.5 and f[0, 1, col["bias"]] == 1.0
    j5, w5 = nbrs[5]
    assert j5[0, 0] == 8
    assert abs(float(f[0, 0, col["neighbourTerms5"]]) - 2.0 * float(w5[0, 0])) < 1e-6
    assert f[0, 1, col["neighbourTerms5"]] == 0.0
    # newest input item 6 points along axis 2 (tilted to 3): the second cold item's direction
    assert abs(float(f[0, 1, col["recentSimilarity"]]) - float(content[6, 2] / content[6].norm())) < 1e-6
    # the first cold item: item 8 (second newest) is nearly parallel; padding counts as 0
    assert float(f[0, 0, col["recentSimilarityMax3"]]) > 0.99
    assert f[0, 0, col["sharedAttributes"]] == 1.0  # item 6 has attribute 2
    assert f[0, 0, col["sharedAttributesMax3"]] == 2.0  # item 8 has 1 and 2
    assert f[0, 1, col["sharedAttributesMax3"]] == 0.0
