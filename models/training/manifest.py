"""Checks model.json files against models/manifest.schema.json, one line per file; exits with 1 if
any is invalid (foresight_training/manifest.py).

  /usr/bin/python3 models/training/manifest.py models/beauty/model.json models/diginetica/model.json
"""
import sys

from foresight_training.manifest import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
