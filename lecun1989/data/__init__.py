"""The data: where MNIST comes from, its IDX files, the 1989-sized subset and its files on disk."""
