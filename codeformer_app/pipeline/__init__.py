"""From a whole photo to restored faces pasted back: alignment, paste-back, and the photo-level API."""
