"""Training progress on stderr: a tqdm bar on an interactive terminal, else one plain line per epoch."""

import os
import sys

from lecun1989 import runtime


def _terminal_width(stream) -> int:
    """Columns of the terminal behind stream; 0 when it is no terminal (or one of no size)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else 0
    except (AttributeError, OSError, ValueError):
        return 0


class Progress:
    """A tqdm bar on an interactive stderr, else one plain line per epoch; nothing when quiet."""

    def __init__(self, variant: str, epochs: int, n_runs: int, quiet: bool, stream=None):
        self.variant, self.epochs, self.n_runs, self.quiet = variant, epochs, n_runs, quiet
        self.stream = stream or sys.stderr
        self.bar = None
        if not quiet and _terminal_width(self.stream) > 0 and runtime.interactive():
            from tqdm import tqdm

            self.bar = tqdm(total=epochs, desc=variant, unit="epoch", file=self.stream, dynamic_ncols=True)

    def epoch(self, epoch: int, scores: dict, elapsed: float) -> None:
        if self.quiet:
            return
        # Validation, not test: whoever watches a run to decide something should see the split
        # that decisions are made on (the test error is in the curves).
        # A dataset without validation digits (USPS) shows its training numbers alone.
        numbers = " | ".join(
            f"{split} loss {scores[split]['loss'].mean():.4g} error {scores[split]['error'].mean():.2f}%"
            for split in ("train", "val")
            if split in scores
        )
        if self.bar is not None:
            self.bar.set_postfix_str(numbers, refresh=False)
            self.bar.update(1)
            return
        eta = elapsed / epoch * (self.epochs - epoch)
        print(
            f"{self.variant} epoch {epoch}/{self.epochs}: {numbers} (mean of {self.n_runs} runs) | elapsed {elapsed:.0f}s, eta {eta:.0f}s",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
