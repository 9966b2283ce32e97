"""Checks model.json files against the manifest JSON Schema (models/manifest.schema.json, generated
from src/inference/manifest.ts): export.py before it writes one, and this CLI for existing ones.

  /usr/bin/python3 models/training/manifest.py models/beauty/model.json models/diginetica/model.json

prints one line per file and exits with 1 if any is invalid.
"""
import functools
import json
import os
import sys

from jsonschema import Draft202012Validator

from .paths import MODELS

SCHEMA = os.path.join(MODELS, "manifest.schema.json")


@functools.lru_cache(maxsize=None)
def _validator():
    with open(SCHEMA) as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(meta):
    """Every way meta (a parsed model.json) breaks the schema, as "<JSON path>: <message>"; [] if none."""
    found = sorted(_validator().iter_errors(meta), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{e.json_path}: {e.message}" for e in found]


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    invalid = 0
    for path in paths:
        try:
            with open(path) as f:
                problems = errors(json.load(f))
        except (OSError, ValueError) as e:  # unreadable, or not JSON
            problems = [str(e)]
        invalid += bool(problems)
        print(f"{path}: " + (f"invalid: {'; '.join(problems)}" if problems else "valid"))
    return 1 if invalid else 0
