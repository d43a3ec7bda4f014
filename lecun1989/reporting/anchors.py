"""The published figures this project compares with, written down once: the single runs of the paper
and of the other public reproductions, as their sources print them (docs/anchors.md names the
sources and says what each run is). The results table's anchor columns (ANCHORS) and the figures of
docs/anchors.md (its generated blocks, which the report writes with the table) both come from here.

    python -m lecun1989.reporting.results_table --write   # writes docs/anchors.md's blocks too
"""

import textwrap
from pathlib import Path
from typing import NamedTuple

PAGE = Path("docs/anchors.md")
N_TRAIN, N_TEST = 7291, 2007  # the training and test digits of the runs below (the blog rows train on 50,000)


class Error(NamedTuple):
    """An error % as its source prints it, and the misses it prints beside it."""

    pct: str
    misses: int

    def __str__(self) -> str:
        return f"{self.pct} ({self.misses})"


class Run(NamedTuple):
    """A run of the 1989 recipe on 7,291 training digits: where it is published, its train and test error."""

    name: str
    train: Error
    test: Error
    where: str


PAPER = Run("paper, 1989", Error("0.14", 10), Error("5.00", 102), "the paper, as karpathy quotes it")
KARPATHY = Run("karpathy, PyTorch", Error("0.62", 45), Error("4.09", 82), "its README")
KARPATHY_ELSEWHERE = Run(
    "karpathy's code, other library versions", Error("0.86", 63), Error("3.54", 71), "a GitHub thread of that repository (#3)"
)
SEED = Run("seed notebook, Flax", Error("0.82", 60), Error("3.69", 74), "the notebook's printed output")
RUNS_1989 = (PAPER, KARPATHY, KARPATHY_ELSEWHERE, SEED)
PAPER_MSE = {"train": "2.5e-3", "test": "1.8e-2"}
PAPER_REJECTED = "12.1"  # % of the test digits set aside, smallest margin first, for 1 % error on the rest


class Change(NamedTuple):
    """A modern change, added to the ones before it: its epochs and the two reproductions' test errors."""

    what: str
    epochs: int
    seed: Error
    karpathy: Error


CHANGES = {  # by the results table's row
    "change1_softmax": Change("1: linear outputs, softmax cross-entropy, SGD lr 0.01", 23, Error("4.14", 83), Error("4.38", 88)),
    "change2_adamw": Change("2: AdamW, lr 3e-4 falling linearly to 1e-4", 46, Error("4.04", 81), Error("3.59", 72)),
    "change3_shift": Change("3: random shift of up to 1 pixel in x and y", 60, Error("2.59", 52), Error("2.19", 44)),
    "change4_relu_dropout": Change("4: ReLU, dropout 0.25 before H3", 80, Error("1.74", 35), Error("1.59", 32)),
}
# karpathy's blog, on 50,000 training digits (no code published): what was run, and its test error
BLOG_50K = {
    "lecun1989_50k": ("the 1989 recipe for 100 passes", Error("2.74", 54)),
    "change4_50k": ("all four changes (the epochs not stated)", Error("1.25", 24)),
}

# The paper's figures are on its own digits: beside the USPS rows, all of them (its test set, not a resplit).
PAPER_ON_ITS_DIGITS = (
    f"{PAPER.test.pct} (train {PAPER.train.pct}, rejected {PAPER_REJECTED}, MSE {PAPER_MSE['train']} / {PAPER_MSE['test']})"
)
# The results table's anchor columns: {row: {source: the published single run beside it}}.
ANCHORS = {
    "lecun1989": {"paper": PAPER.test.pct, "seed": SEED.test.pct, "karpathy": KARPATHY.test.pct},
    **{row: {"seed": c.seed.pct, "karpathy": c.karpathy.pct} for row, c in CHANGES.items()},
    **{row: {"karpathy": f"{error.pct} (blog)"} for row, (_, error) in BLOG_50K.items()},
    "lecun1989_paper": {"paper": PAPER.test.pct},
    "lecun1989_usps": {"paper": PAPER_ON_ITS_DIGITS},
    "lecun1989_paper_usps": {"paper": PAPER_ON_ITS_DIGITS},
}

# docs/anchors.md's generated blocks, each between <!-- NAME:start --> and <!-- NAME:end -->.
RUNS_BLOCK, PAPER_BLOCK, CHANGES_BLOCK = "anchors-1989", "anchors-paper", "anchors-changes"
BLOCKS = (RUNS_BLOCK, PAPER_BLOCK, CHANGES_BLOCK)


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def paragraph(text: str) -> str:
    return textwrap.fill(text, width=100, break_on_hyphens=False)


def runs_block() -> str:
    """The 1989 recipe's runs, and the paper's other figures."""
    runs = table(["run", "train", "test", "where"], [[r.name, r.train, r.test, r.where] for r in RUNS_1989])
    paper = (
        f"The paper also gives mean squared error {PAPER_MSE['train']} (train) and {PAPER_MSE['test']} (test), and a reject "
        f"operating point: {PAPER_REJECTED} % of the test digits set aside, smallest gap between the two largest outputs first, "
        "to reach 1 % error on the rest."
    )
    return f"{runs}\n\n{paragraph(paper)}"


def paper_block() -> str:
    """The paper's figures in one sentence, for the section on its digits."""
    return paragraph(
        f"The paper's figures on it: {PAPER.test.pct} % test error ({PAPER.test.misses} of {N_TEST:,}), {PAPER.train.pct} % "
        f"train error ({PAPER.train.misses} of {N_TRAIN:,}), mean squared error {PAPER_MSE['train']} train and "
        f"{PAPER_MSE['test']} test, {PAPER_REJECTED} % rejected for 1 % error."
    )


def implied_misses(error: Error) -> int:
    """The misses of N_TEST test digits that the printed percentage stands for."""
    return round(float(error.pct) * N_TEST / 100)


def changes_block() -> str:
    """The modern changes' runs, and karpathy's blog rows on 50,000 digits with the misses their
    percentages stand for (the counts it prints are one low)."""
    changes = table(["change", "epochs", "seed notebook", "karpathy"], [[c.what, c.epochs, c.seed, c.karpathy] for c in CHANGES.values()])
    blog = "; ".join(
        f"{what}, {e.pct} % test error (it prints {e.misses} misses; {implied_misses(e)} of {N_TEST:,} is {e.pct} %)"
        for what, e in BLOG_50K.values()
    )
    return f"{changes}\n\n" + paragraph(
        f"karpathy's blog adds two rows trained on 50,000 digits instead of {N_TRAIN:,} (no code published): {blog}."
    )


def blocks() -> dict[str, str]:
    """{block: text} of docs/anchors.md's generated blocks."""
    return {RUNS_BLOCK: runs_block(), PAPER_BLOCK: paper_block(), CHANGES_BLOCK: changes_block()}
