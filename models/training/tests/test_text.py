"""Title tokens for the content tower (foresight_training/text.py) against the gateway's: both
sides check the same committed fixture, test/fixtures/text-tokens.json (the TS side in
test/inference/text-tokens.test.ts). Regenerate it with `/usr/bin/python3 tests/test_text.py`
after a deliberate change to either tokenizer."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from foresight_training.text import amazon_titles, decode_entities, fnv1a, hash_tokens, token_table  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
FIXTURE = os.path.join(ROOT, "test", "fixtures", "text-tokens.json")
BEAUTY = os.path.join(ROOT, "data", "amazon", "Beauty.txt")
BUCKETS = 4096
# raw source titles (with their HTML references), and texts a shop may send
RAW = ["derma e Anti-Wrinkle Vitamin A Retinyl Palmitate Cr&egrave;me , 4-Ounce Jar", "vbeaut&eacute; It Kit",
       "Organic Rosehip Oil 4OZ &#9733;SALE&#9733; 100% Pure", "L&#39;Oreal Paris Colour Riche&#153; &amp; more &bogus;",
       "Hex &#x41;&#X42; and cp1252 &#146;s &#150; &#151;"]
TEXTS = ["", "   ", "OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce", "Crème Brûlée – Eau de Toilette 50ml",
         "ÉCLAT İstanbul straße ǅemal ﬁne", "NUL\u0000inside and\ttabs\nnewlines", "💄 Lipstick #5 (2-pack)",
         "口红 red 色 12", "ALL CAPS 100ML SPF50+", "a" * 300]


def cases():
    titles = amazon_titles(BEAUTY)
    first = [titles[str(i)] for i in range(1, 13) if str(i) in titles]
    return {"buckets": BUCKETS,
            "decode": [{"raw": r, "decoded": decode_entities(r).strip()} for r in RAW],
            "tokens": [{"text": t, "tokens": hash_tokens(t, BUCKETS)}
                       for t in TEXTS + first + [decode_entities(r).strip() for r in RAW]]}


def test_fnv1a_32_of_known_strings():
    # FNV-1a 32-bit reference values
    assert fnv1a("") == 0x811C9DC5
    assert fnv1a("a") == 0xE40C292C
    assert fnv1a("foobar") == 0xBF9CF968


def test_tokens_are_lower_cased_ascii_runs_hashed_into_the_buckets():
    assert hash_tokens("", BUCKETS) == []
    assert hash_tokens("Ab-ab", BUCKETS) == [1 + fnv1a("ab") % BUCKETS] * 2
    assert all(1 <= t <= BUCKETS for t in hash_tokens("x" * 50 + " 12 ab", BUCKETS))


def test_the_committed_fixture_is_what_this_tokenizer_gives():
    assert json.load(open(FIXTURE)) == cases()


def test_a_token_table_keeps_every_token_and_row_zero_empty():
    t = token_table(["a b c", None, "", "d"], BUCKETS)
    assert t.shape == (5, 3)
    assert t[0].tolist() == [0, 0, 0] and t[2].tolist() == [0, 0, 0] and t[3].tolist() == [0, 0, 0]
    assert t[1].tolist() == hash_tokens("a b c", BUCKETS)


def test_beauty_titles_are_read_and_decoded():
    titles = amazon_titles(BEAUTY)
    assert len(titles) == 12094  # of 12,101 items: 7 titles are empty in the source
    assert titles["36"].startswith("derma e Anti-Wrinkle") and "Crème" in titles["36"]


if __name__ == "__main__":
    with open(FIXTURE, "w", encoding="utf-8") as f:
        json.dump(cases(), f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", FIXTURE)


def test_a_sequences_file_with_titles_beside_it_gives_the_content_tower_their_tokens():
    import torch
    from foresight_training.sequence.content import content_inputs
    from foresight_training.sequence.data import load
    ds = load(BEAUTY, BEAUTY.replace(".txt", "_item2attributes.json"), max_users=50)
    titles = amazon_titles(BEAUTY)
    k = 1 + ds.item_raw.index("1") if "1" in ds.item_raw else 1
    raw = ds.item_raw[k - 1]
    row = [t for t in ds.item_text[k].tolist() if t]
    assert row == hash_tokens(titles[raw], BUCKETS)
    _, text, _ = content_inputs(torch.as_tensor(ds.item_attrs), torch.tensor([k]), torch.as_tensor(ds.item_text))
    assert [t for t in text[0].tolist() if t] == row
    # without titles beside it (another name), no text: the tower reads attributes only
    assert content_inputs(torch.as_tensor(ds.item_attrs), torch.tensor([k]))[1].tolist() == [[0]]
