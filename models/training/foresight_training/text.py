"""Item text for the content tower, tokenised exactly as the gateway does (src/inference/model.ts
`hashTokens`, models/README.md content.onnx): lower-cased runs of [a-z0-9], each hashed to
`1 + FNV-1a-32(UTF-8 bytes) mod buckets`; and the Amazon titles, their HTML character references
decoded as the importer decodes them (src/import/amazon-names.ts `decodeEntities`), so that a
title tokenises the same in training and once stored by the gateway. Parity: text-parity.json
(written by tests/test_text.py's fixtures, checked by test/inference/text-tokens.test.ts)."""
import os
import re

import numpy as np

TOKEN = re.compile(r"[a-z0-9]+")

NAMED = {"amp": "&", "quot": '"', "apos": "'", "lt": "<", "gt": ">", "nbsp": "\u00a0", "reg": "®", "trade": "™",
         "copy": "©", "deg": "°", "bull": "•", "hearts": "♥", "frac12": "½", "ordm": "º", "egrave": "è",
         "eacute": "é", "Eacute": "É", "ccedil": "ç"}
# numeric references 128–159 in this data are Windows-1252 bytes (&#153; for ™)
CP1252 = {146: "’", 150: "–", 151: "—", 153: "™"}
ENTITY = re.compile(r"&(#x[0-9a-f]+|#\d+|[a-z][a-z0-9]*);", re.IGNORECASE)


def decode_entities(text):
    """amazon-names.ts decodeEntities: named (the list above), decimal and hex references."""
    def one(m):
        ref = m.group(1)
        if ref[0] != "#":
            return NAMED.get(ref, m.group(0))
        code = int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:])
        if code in CP1252:
            return CP1252[code]
        return chr(code) if 0 < code <= 0x10FFFF else m.group(0)
    return ENTITY.sub(one, text)


def fnv1a(token):
    h = 0x811C9DC5
    for byte in token.encode("utf-8"):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def hash_tokens(text, buckets):
    """The gateway's tokens of `text` (JavaScript's toLowerCase and Python's lower agree on the
    letters that can become [a-z]; every other character only separates tokens)."""
    return [1 + fnv1a(t) % buckets for t in TOKEN.findall(text.lower())]


def token_table(texts, buckets):
    """[len(texts) + 1, T] int64, row k + 1 = the tokens of texts[k] (None or "" = none), 0-padded;
    row 0 (padding) empty. T = the longest row (at least 1): no title is cut."""
    rows = [hash_tokens(t, buckets) if t else [] for t in texts]
    out = np.zeros((len(rows) + 1, max([len(r) for r in rows] + [1])), np.int64)
    for k, r in enumerate(rows):
        out[k + 1, :len(r)] = r
    return out


def amazon_titles(seq_path):
    """raw item id → decoded title from `<Name>_item_text.tsv` beside an Amazon sequences file
    (Beauty has one); {} without it."""
    path = os.path.join(os.path.dirname(seq_path), os.path.splitext(os.path.basename(seq_path))[0] + "_item_text.tsv")
    if not os.path.exists(path):
        return {}
    out = {}
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        at = header.index("title")
        for line in f:
            cells = line.rstrip("\n").split("\t")
            text = decode_entities(cells[at] if at < len(cells) else "").strip()
            if text:
                out[cells[0]] = text
    return out
