"""The pipeline plumbing: the params schema, the one-line errors, output-path guards, crash-safe writes."""
