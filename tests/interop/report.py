"""One JSON report per line on stdout, numbered, flushed at once (the Rust test reads them)."""

import itertools
import json
import sys

_seq = itertools.count()


def report(**value):
    value["seq"] = next(_seq)
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()
