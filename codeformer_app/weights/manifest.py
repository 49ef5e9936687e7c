"""The app's registry as JSON: the committed ``weights/manifest.json`` is this text, checked by a test.

Regenerate it with ``python -m codeformer_app.weights.manifest > weights/manifest.json``.
"""

from __future__ import annotations

import json
import sys

from .registry import DEFAULT_REGISTRY, Registry

#: Bumped when the manifest's shape changes incompatibly.
MANIFEST_FORMAT = 1


def manifest_data(registry: Registry) -> dict:
    """``registry`` as plain JSON data."""
    return {"format": MANIFEST_FORMAT, "weights": [entry.to_json() for entry in registry]}


def manifest_json(registry: Registry) -> str:
    """The manifest text exactly as committed (two-space indent, trailing newline)."""
    return json.dumps(manifest_data(registry), indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(manifest_json(DEFAULT_REGISTRY))
