"""XLA CPU settings for batch-1 training, applied on import (before JAX starts its backend).

Each flag is kept because `make bench` measured it faster on the project's 2-core machines; see the
Performance section of README.md. A user's own XLA_FLAGS come last and win.
"""

import os

FLAGS = ()

if FLAGS:
    os.environ["XLA_FLAGS"] = " ".join([*FLAGS, os.environ.get("XLA_FLAGS", "")]).strip()
