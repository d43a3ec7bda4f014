"""The pipeline plumbing: the params schema, the one-line errors, crash-safe writes, progress."""
