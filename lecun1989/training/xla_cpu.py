"""XLA CPU settings for batch-1 training, applied on import (before JAX starts its backend).

Each flag is kept because `python tools/bench.py --flags` measured it faster on the project's 2-core
machines; see the Performance section of README.md. A user's own XLA_FLAGS come last and win;
LECUN1989_XLA_FLAGS=0 leaves XLA's defaults (the benchmark uses it to compare).
"""

import os

FLAGS = ("--xla_cpu_experimental_ynn_fusion_type=dot",)  # YNNPACK for matmuls only: see README, Performance

if FLAGS and os.environ.get("LECUN1989_XLA_FLAGS") != "0":
    os.environ["XLA_FLAGS"] = " ".join([*FLAGS, os.environ.get("XLA_FLAGS", "")]).strip()
