"""The cut-off protocol (sequence/data.py, events with times): global cut-offs T_valid < T_test, every
event after a cut-off with an earlier event in its sequence a target, its input all the sequence's
events before it; the counts, the absence of future events in inputs, and the refusal of a split too
small to choose or judge a model. Hand-made fixtures: every count below is worked out by hand."""
import json

import pytest

from foresight_training.sequence.data import (MIN_TARGETS, choose_cutoffs, cutoff_split, effective_times,
                                              load_events, read_events, refuse_small, repeat_share)

S = 1000  # ms


def _write(tmp_path, records, attributes=None):
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(r) + "\n" for r in records))
    attrs = tmp_path / "attributes.json"
    attrs.write_text(json.dumps(attributes or {}))
    return str(events), str(attrs)


def _seq(sid, *pairs):
    """A sequence of (item, at in seconds or None) VIEW events."""
    return {"id": sid, "events": [{"item": f"shop:{i}", "type": "VIEW", "at": at} for i, at in pairs]}


# T_valid = 100 s, T_test = 200 s (given); u1 spans all three periods, u2 starts after T_valid, u3 is
# all training, u4 has a single (test) event, u5 repeats an item in test.
FIXTURE = [
    _seq("u1", ("a", 10), ("b", 20), ("c", 150), ("a", 160), ("d", 250)),
    _seq("u2", ("b", 120), ("c", 130), ("e", 210)),
    _seq("u3", ("a", 30), ("c", 40), ("b", 50)),
    _seq("u4", ("c", 220)),
    _seq("u5", ("c", 60), ("d", 70), ("c", 230)),
]


def _load(tmp_path, records=FIXTURE):
    events, attrs = _write(tmp_path, records)
    return load_events(events, attrs, "shop", "cutoff", valid_from=100 * S, test_from=200 * S)


def test_targets_are_every_event_after_the_cutoffs_with_an_earlier_event(tmp_path):
    ds, train, valid, test, info = _load(tmp_path)
    # the evaluated fit trains on the events before T_valid: u1 a b, u3 a c b, u5 c d
    assert ds.item_raw == ["shop:a", "shop:b", "shop:c", "shop:d"]
    a, b, c, d = 1, 2, 3, 4
    assert sorted(map(list, train)) == sorted([[a, b], [a, c, b], [c, d]])
    # validation: u1 c (input a b), u1 a (input a b c: a repeat), u2 c (input b; u2's first event b
    # has nothing before it)
    assert [(list(s), t) for s, t in valid] == [([a, b], c), ([a, b, c], a), ([b], c)]
    assert info["repeat"]["valid"] == [False, True, False]
    assert info["valid"] == {"targets": 3, "evaluated": 3, "skippedUnknownTarget": 0, "skippedNoKnownInput": 0,
                             "repeatTargets": 1, "novelTargets": 2, "sequences": 2}
    # test: u1 d (input a b c a, the events before T_test included), u2 e (unknown item: skipped),
    # u5 c (input c d: a repeat); u4's only event has no input, so it is no target
    assert [(list(s), t) for s, t in test] == [([a, b, c, a], d), ([c, d], c)]
    assert info["repeat"]["test"] == [False, True]
    assert info["test"] == {"targets": 3, "evaluated": 2, "skippedUnknownTarget": 1, "skippedNoKnownInput": 0,
                            "repeatTargets": 1, "novelTargets": 1, "sequences": 2}
    assert info["cutoffs"] == {"valid": "1970-01-01T00:01:40+00:00", "test": "1970-01-01T00:03:20+00:00"}
    # the training part's own next events: b, c, b, d — none repeats
    assert info["trainRepeatShare"] == {"targets": 4, "repeats": 0, "share": 0.0}


def test_no_input_holds_an_event_at_or_after_its_target(tmp_path):
    # u6's events come out of time order (the gateway's order): its inputs follow time, so the event
    # at 300 s is never in the input of the one at 210 s, and the one at 90 s is training data
    records = FIXTURE + [_seq("u6", ("a", 300), ("b", 90), ("d", 210))]
    events, attrs = _write(tmp_path, records)
    raw = read_events(events)
    ordered, prefixes, targets = cutoff_split(raw, 100 * S, 200 * S)
    for t in targets:
        times = ordered[t.sequence][1]
        assert all(x <= times[t.position] for x in times[:t.position])
        assert (times[t.position] >= 200 * S) == (t.part == "test") and times[t.position] >= 100 * S
    for p in prefixes:
        assert all(at < 100 * S for _, _, at in p)
    _, _, _, test, info = load_events(events, attrs, "shop", "cutoff", valid_from=100 * S, test_from=200 * S)
    # u6: d (input b) at 210 s and a (input b d) at 300 s
    assert [(list(s), t) for s, t in test][-2:] == [([2], 4), ([2, 4], 1)]


def test_events_without_a_time_take_the_time_before_them():
    events = [("a", "VIEW", None), ("b", "VIEW", 5), ("c", "VIEW", None), ("d", "VIEW", 9)]
    assert effective_times(events) == [5, 5, 5, 9]
    assert effective_times([("a", "VIEW", None)]) == [None]


def test_default_cutoffs_are_time_quantiles_of_the_events():
    raw = [("s", [(f"i{k}", "VIEW", k * S) for k in range(100)])]
    assert choose_cutoffs(raw, 0.1, 0.1) == (80 * S, 90 * S)
    assert choose_cutoffs(raw, 0.1, 0.1, test_from=95 * S) == (80 * S, 95 * S)
    with pytest.raises(SystemExit, match="must come before the test cut-off"):
        choose_cutoffs(raw, 0.1, 0.1, valid_from=95 * S, test_from=90 * S)
    with pytest.raises(SystemExit, match="no event comes before the validation cut-off"):
        choose_cutoffs(raw, 0.1, 0.1, valid_from=0)


def test_repeat_share_counts_next_events_on_items_seen_before():
    assert repeat_share([[1, 2, 1, 1], [3], [4, 5]]) == {"targets": 4, "repeats": 2, "share": 0.5}


def test_a_split_too_small_to_choose_or_judge_a_model_is_refused_with_its_counts(tmp_path):
    _, _, _, _, info = _load(tmp_path)
    with pytest.raises(SystemExit) as e:
        refuse_small(info, MIN_TARGETS)
    msg = str(e.value)
    assert msg.startswith("too few targets to choose a model or to judge it: valid: 3 evaluated of 3 targets")
    assert "test: 2 evaluated of 3 targets (1 on items unseen before the validation cut-off" in msg
    assert f"at least {MIN_TARGETS} (--min-targets)" in msg
    with pytest.raises(SystemExit, match="too few targets to judge a model: valid: 3"):
        refuse_small(info, 3)
    refuse_small(info, 2)  # enough of both
