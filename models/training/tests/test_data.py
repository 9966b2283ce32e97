"""The sequence data readers (sequence/data.py) on a slice of the real Beauty file and on small
events files: model indices, the leave-one-out split, left padding and the gateway's gap buckets."""
import json
import os

import pytest

from foresight_training.paths import ROOT
from foresight_training.sequence.data import (Events, encoder_inputs, gap_buckets, left_pad, load, load_events,
                                              read_events, split)
from foresight_training.sequence.encoder import TIME_GAP_BUCKETS_SECONDS

BEAUTY = os.path.join(ROOT, "data", "amazon", "Beauty.txt")
BEAUTY_ATTRIBUTES = os.path.join(ROOT, "data", "amazon", "Beauty_item2attributes.json")


@pytest.fixture(scope="module")
def beauty():
    return load(BEAUTY, BEAUTY_ATTRIBUTES, max_users=50)


def test_the_sequences_file_gives_1_based_indices_in_numeric_id_order(beauty):
    with open(BEAUTY) as f:
        first = [line.split() for _, line in zip(range(50), f)]
    assert beauty.name == "beauty"
    assert beauty.users == [p[0] for p in first]
    assert beauty.item_raw == sorted({i for p in first for i in p[1:]}, key=int)
    # every sequence maps back to its raw ids, oldest first
    assert [[beauty.item_raw[i - 1] for i in s] for s in beauty.seqs] == [p[1:] for p in first]
    assert beauty.item_attrs.shape[0] == beauty.num_items + 1 and not beauty.item_attrs[0].any()


def test_the_item_attribute_table_holds_each_items_attributes(beauty):
    with open(BEAUTY_ATTRIBUTES) as f:
        raw = json.load(f)
    for k, item in enumerate(beauty.item_raw[:20], start=1):
        row = [beauty.attr_raw[a - 1] for a in beauty.item_attrs[k] if a > 0]
        assert row == [str(a) for a in raw.get(item, [])]


def test_leave_one_out_holds_out_the_last_two_items():
    train, valid, test = split([[1, 2, 3, 4], [5, 6], [7, 8, 9]])
    assert train == [[1, 2], [5, 6], [7]]
    assert valid == [([1, 2], 3), ([7], 8)]
    assert test == [([1, 2, 3], 4), ([7, 8], 9)]


def test_left_pad_keeps_the_newest_item_last():
    assert left_pad([[1, 2, 3, 4], [5]], 3).tolist() == [[2, 3, 4], [0, 0, 5]]


def test_gap_buckets_match_the_gateways_bounds():
    minute, month = 60_000, TIME_GAP_BUCKETS_SECONDS[-1] * 1000
    times = [0, minute, 2 * minute + 1, None, 5 * minute, 4 * minute, 4 * minute + month + 1]
    # first event 1; <= 60 s bucket 2; just above it 3; unknown either side 1; negative = 0 s; > 30 days last
    assert gap_buckets(times, TIME_GAP_BUCKETS_SECONDS) == [1, 2, 3, 1, 1, 2, 2 + len(TIME_GAP_BUCKETS_SECONDS)]


def test_encoder_inputs_mark_unknown_types_and_gaps_for_plain_sequences():
    ids, ev, gaps = encoder_inputs([[3, 4], Events([5], [2], [None])], 3)
    assert ids.tolist() == [[0, 3, 4], [0, 0, 5]]
    assert ev.tolist() == [[0, 1, 1], [0, 0, 2]]
    assert gaps.tolist() == [[0, 1, 1], [0, 0, 1]]


def _events_file(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_read_events_names_the_line_of_a_malformed_record(tmp_path):
    path = _events_file(tmp_path / "events.jsonl", [
        {"id": "s1", "events": [{"item": "shop:a", "type": "VIEW", "at": 1}]},
        {"id": "s2", "events": [{"item": "shop:a", "type": "CLICK", "at": 1}]},
    ])
    with pytest.raises(SystemExit, match=r"events\.jsonl:2: events\[0\] must be .*VIEW\|CART\|PURCHASE\|SEARCH"):
        read_events(path)


def test_load_events_maps_the_observed_types_as_the_gateway_does(tmp_path):
    events = _events_file(tmp_path / "events.jsonl", [
        {"id": f"s{k}", "events": [{"item": "shop:a", "type": "VIEW", "at": 10 * k},
                                   {"item": None, "type": "SEARCH", "at": 10 * k + 1},
                                   {"item": "shop:b", "type": "CART", "at": 10 * k + 2},
                                   {"item": "shop:a", "type": "VIEW", "at": 10 * k + 5},
                                   {"item": "shop:b", "type": "PURCHASE", "at": None},
                                   {"item": "shop:c", "type": "VIEW", "at": 10 * k + 9}]}
        for k in range(4)])
    attributes = tmp_path / "attributes.json"
    attributes.write_text(json.dumps({"shop:a": ["shop:x"], "shop:c": ["shop:x", "shop:y"]}))
    ds, train, valid, test, info = load_events(events, str(attributes), "shop", "loo")
    assert ds.item_raw == ["shop:a", "shop:b", "shop:c"] and ds.attr_raw == ["shop:x", "shop:y"]
    # the item-less SEARCH is dropped as it is read
    assert info["eventTypes"] == {"VIEW": 12, "CART": 4, "PURCHASE": 4}
    # leave-one-out: the training part is a, b, a (VIEW = 2, CART = 3 in the encoder's vocabulary);
    # PURCHASE, only in the held-out events, is unknown (1) to the encoder
    assert info["observed"] == {"eventTypes": ["VIEW", "CART"], "timeGaps": True}
    assert [list(s) for s in train] == [[1, 2, 1]] * 4 and [s.types for s in train] == [[2, 3, 2]] * 4
    assert [(list(s), s.types, t) for s, t in test] == [([1, 2, 1, 2], [2, 3, 2, 1], 3)] * 4
