"""The registry as JSON: the committed ``weights/manifest.json`` is this text, checked by a test.

Regenerate it with ``python -m codeformer_app.weights.manifest > weights/manifest.json``.
"""

from __future__ import annotations

import json
import sys

from . import registry

#: Bumped when the manifest's shape changes incompatibly.
MANIFEST_FORMAT = 1


def manifest_data() -> dict:
    """The registry as plain JSON data."""
    return {"format": MANIFEST_FORMAT, "weights": [entry.to_json() for entry in registry.entries()]}


def manifest_json() -> str:
    """The manifest text exactly as committed (two-space indent, trailing newline)."""
    return json.dumps(manifest_data(), indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(manifest_json())
