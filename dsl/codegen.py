"""Render Programs through a target's templates, format, and write a package all at once.

A package (`generated/` by default) holds one module per spec and target, the shared
`_harness.py` they import, and an `__init__.py`. black formats every module; its output is
cached by content (see `formatted`), so regenerating unchanged modules costs no black run.
"""

from __future__ import annotations

import ast
import ctypes
import hashlib
import importlib.metadata
import os
import re
import shutil
import tempfile
from functools import cache
from pathlib import Path

import jinja2

from nndsl import __version__, ir, literals
from nndsl.context import common_context
from nndsl.errors import NndslError, SpecError
from nndsl.targets import Target, check_supported

HARNESS = "_harness.py"
INIT = "__init__.py"
LINE_LENGTH = 99


def _templates() -> Path:
    """Installed, the templates ship inside the package; in the source tree they are the
    top-level templates/ folder beside dsl/."""
    inside = Path(__file__).with_name("templates")
    return inside if inside.is_dir() else Path(__file__).parent.parent / "templates"


TEMPLATES = _templates()


@cache
def environment() -> jinja2.Environment:
    """The Jinja environment: strict undefined, no autoescape, literal filters; compiled
    templates are cached on disk beside the formatted modules (keyed by template source)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["lit"] = literals.lit
    env.filters["ident"] = literals.ident
    env.filters["kwargs"] = literals.kwargs
    env.filters["camel"] = literals.camel
    env.filters["js"] = literals.js
    return env


def _cache_dir(kind: str = "formatted") -> Path:
    root = os.environ.get("NNDSL_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or ""
    base = Path(root) if root and Path(root).is_absolute() else Path.home() / ".cache"
    return (base if os.environ.get("NNDSL_CACHE_DIR") else base / "nndsl") / kind


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's on-disk cache of compiled templates; none when the folder cannot be made."""
    folder = _cache_dir(f"jinja-{jinja2.__version__}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


@cache
def _black_version() -> str:
    return importlib.metadata.version("black")  # without importing black (0.1 s)


def _cache_path(source: str) -> Path:
    key = hashlib.sha256(f"{_black_version()}:{LINE_LENGTH}\0{source}".encode()).hexdigest()
    return _cache_dir() / key[:2] / f"{key}.py"


def _black(source: str) -> str:
    import black

    mode = black.Mode(line_length=LINE_LENGTH, target_versions={black.TargetVersion.PY310})
    return black.format_str(source, mode=mode)


# sources longer than this in total are formatted in parallel processes when several miss
PARALLEL_CHARS = 400_000


def formatted_all(sources: list[tuple[str, str]]) -> list[str]:
    """Each (source, what) formatted by black, from a content-addressed cache when it was
    seen before (a cached text was parsed by black once, so a hit needs no parse). Misses
    are parse-checked, then formatted, in one process per core when they are large."""
    paths = [_cache_path(source) for source, _ in sources]
    texts: list[str | None] = []
    for path in paths:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except OSError:
            texts.append(None)
    misses = [i for i, text in enumerate(texts) if text is None]
    for i in misses:
        _checked(*sources[i])
    todo = [sources[i][0] for i in misses]
    workers = min(len(todo), os.cpu_count() or 1)
    done: list[str] | None = None
    if workers > 1 and sum(map(len, todo)) > PARALLEL_CHARS:
        done = _in_processes(todo, workers)
    if done is None:
        done = [_black(source) for source in todo]
    for i, text in zip(misses, done):
        texts[i] = text
        try:
            paths[i].parent.mkdir(parents=True, exist_ok=True)
            _write_file(paths[i], text)
        except OSError:
            pass  # a cache that cannot be written only costs time
    return [text for text in texts if text is not None]


def _in_processes(todo: list[str], workers: int) -> list[str] | None:
    """black over `todo` in a process pool; None where processes cannot be started."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(workers) as pool:
            return list(pool.map(_black, todo))
    except (OSError, BrokenProcessPool):
        return None


def formatted(source: str, what: str = "module") -> str:
    """One source formatted (see `formatted_all`)."""
    return formatted_all([(source, what)])[0]


def _checked(source: str, what: str) -> str:
    try:
        ast.parse(source)
    except SyntaxError as err:  # a template bug, never user input
        raise RuntimeError(f"{what} template produced invalid Python: {err}") from err
    return source


def render_source(
    program: ir.Program, target: Target, spec_file: str, standalone: bool = False
) -> str:
    """The module's text before formatting (the registry tests render without black)."""
    check_supported(target, program)
    context = common_context(program, target, spec_file)
    context.update(target.context(program, context))
    context["standalone"] = standalone
    context["support_module"] = target.support_module
    context.setdefault("support_imports", [])
    context.setdefault("support_exports", [])
    if standalone:
        context["harness"] = _harness_source(inline=True)
        context["support"] = _support_source(target, inline=True) if target.support else ""
    return environment().get_template(target.template).render(**context)


def render(program: ir.Program, target: Target, spec_file: str, standalone: bool = False) -> str:
    """The black-formatted module for `program` in `target`."""
    source = render_source(program, target, spec_file, standalone)
    return formatted(source, target.name) if target.runtime == "python" else source


def _harness_source(inline: bool = False) -> str:
    template = environment().get_template("_shared/harness.py.j2")
    return template.render(version=__version__, inline=inline)


def _support_source(target: Target, inline: bool = False) -> str:
    template = environment().get_template(f"{target.name}/support{target.extension}.j2")
    return template.render(version=__version__, inline=inline, ir=IR_CONSTANTS)


# the IR's constants a support module may need (initialiser definitions)
IR_CONSTANTS = {
    "truncated_normal_stddev": ir.TRUNCATED_NORMAL_STDDEV,
    "embedding_uniform_limit": ir.EMBEDDING_UNIFORM_LIMIT,
}


def render_support(target: Target) -> str:
    """A target's shared module of a generated package (`_<target>_support.py`)."""
    source = _support_source(target)
    return formatted(source, f"{target.name} support") if target.runtime == "python" else source


def render_harness() -> str:
    """The shared `_harness.py` of a generated package."""
    return formatted(_harness_source(), "harness")


def output_path(program: ir.Program, target: Target, out_dir: Path) -> Path:
    """`<out_dir>/<model>_<target>.py` (flat: a `torch/` folder would shadow torch)."""
    return out_dir / f"{literals.ident(program.name)}_{target.name}{target.extension}"


def spec_label(path: Path) -> str:
    """The spec path as recorded in generated code: relative to the cwd when possible."""
    if str(path) == "-":
        return "<stdin>"
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def plan(
    programs: list[tuple[ir.Program, str]], targets: list[Target], out_dir: Path
) -> list[tuple[Path, str]]:
    """Render every file of the package in memory; raise before anything is written.
    Python modules are formatted by black; other runtimes' modules are written as rendered."""
    sources: dict[Path, tuple[str, str]] = {}
    verbatim: dict[Path, str] = {}
    owners: dict[Path, str] = {}
    for program, spec_file in programs:
        for target in targets:
            path = output_path(program, target, out_dir)
            if path in owners and owners[path] != spec_file:
                raise SpecError(
                    f"model name '{program.name}' is also used by {owners[path]}:"
                    f" both would write {path.name}",
                    program.spec.model.span,
                )
            owners[path] = spec_file
            source = render_source(program, target, spec_file)
            if target.runtime == "python":
                sources[path] = (source, target.name)
            else:
                verbatim[path] = source
    sources[out_dir / HARNESS] = (_harness_source(), "harness")
    for target in targets:
        if target.support_module:
            path = out_dir / f"{target.support_module}{target.extension}"
            if target.runtime == "python":
                sources[path] = (_support_source(target), f"{target.name} support")
            else:
                verbatim[path] = _support_source(target)
    outputs = dict(zip(sources, formatted_all(list(sources.values()))))
    outputs.update(verbatim)
    outputs[out_dir / INIT] = '"""Modules generated by nndsl; regenerate with `nndsl gen`."""\n'
    return list(outputs.items())


SPEC_FILE_LINE = re.compile(
    r"^(?:export )?(?:const )?SPEC_FILE = (\"(?:[^\"\\\\]|\\\\.)*\")", re.M
)


def orphans(
    outputs: list[tuple[Path, str]], out_dir: Path, sources: list[str], targets: list[Target]
) -> list[Path]:
    """Modules of `targets` in `out_dir` generated from one of `sources` (spec labels; a
    folder's label covers the specs inside it) that the plan no longer produces: a renamed
    model or a deleted spec leaves one behind."""
    planned = {path for path, _ in outputs}
    endings = tuple(f"_{target.name}{target.extension}" for target in targets)
    found = []
    for path in sorted(out_dir.glob("*_*.*")) if out_dir.is_dir() else []:
        if path in planned or path.name.startswith("_") or not path.name.endswith(endings):
            continue
        try:
            match = SPEC_FILE_LINE.search(path.read_text("utf-8", errors="replace")[:20_000])
            spec_file = ast.literal_eval(match.group(1)) if match else None
        except (OSError, ValueError, SyntaxError):
            continue
        if isinstance(spec_file, str) and any(
            spec_file == label or spec_file.startswith(label.rstrip("/") + "/")
            for label in sources
        ):
            found.append(path)
    return found


def load_program(path: Path) -> tuple[ir.Program, str]:
    """Read, parse and analyse one spec file; SpecError on any problem."""
    import nndsl

    return nndsl.load(path), spec_label(path)


def _mode(path: Path) -> int:
    """The mode a written file gets: the existing file's, else 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _write_file(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in its folder and a rename; the file
    keeps its mode, and a symbolic link is written through (its target is replaced)."""
    path = path.resolve() if path.is_symlink() else path
    mode = _mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".nndsl-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str) -> None:
    """Write one file atomically, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_file(path, text)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux renameat2 RENAME_EXCHANGE); False where the
    system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def _stage(out_dir: Path, staging: Path, changed: dict[Path, str]) -> None:
    """Fill `staging` with out_dir's other files (hard links, or copies) and the new ones."""
    if out_dir.is_dir():
        for entry in out_dir.iterdir():
            if entry.name in {p.name for p in changed} or entry.name == "__pycache__":
                continue
            target = staging / entry.name
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
            else:
                _link_or_copy(entry, target)
    for path, text in changed.items():
        (staging / path.name).write_text(text, encoding="utf-8", newline="\n")
        os.chmod(staging / path.name, _mode(path))


def _link_or_copy(source: Path | str, target: Path | str) -> None:
    if os.path.islink(source):
        os.symlink(os.readlink(source), target)
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def clean_stale(out_dir: Path) -> None:
    """Remove temporaries a killed `nndsl gen` left beside or inside out_dir."""
    parent = out_dir.parent if out_dir.parent.is_dir() else None
    for folder, pattern in ((parent, f".{out_dir.name}.nndsl-*"), (out_dir, ".*.nndsl-tmp")):
        if folder is None or not folder.is_dir():
            continue
        for stale in folder.glob(pattern):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def write_package(outputs: list[tuple[Path, str]], out_dir: Path) -> list[Path]:
    """Write a package all at once: every changed file appears together or none does.

    The new package is staged in a sibling folder (unchanged files hard-linked) and swapped
    with out_dir in one rename (Linux renameat2); where the system cannot swap folders the
    files are renamed into place one by one. Files already holding their text are untouched;
    a killed run's temporaries are removed by the next one.
    """
    try:
        clean_stale(out_dir)
        changed = {p: t for p, t in outputs if not (p.is_file() and p.read_text("utf-8") == t)}
        if not changed:
            return []
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        if out_dir.exists() and not out_dir.is_dir():
            raise NndslError(f"cannot write into {out_dir}: it is not a folder")
        for path in changed:
            if path.is_dir() and not path.is_symlink():
                raise NndslError(f"cannot write {path}: a folder is in the way")
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.nndsl-", dir=out_dir.parent))
        try:
            os.chmod(staging, _mode(out_dir) | (0o111 if not out_dir.exists() else 0))
            _stage(out_dir, staging, changed)
            if not out_dir.exists():
                os.rename(staging, out_dir)
            elif _exchange(staging, out_dir):
                shutil.rmtree(staging, ignore_errors=True)
            else:
                for path in changed:
                    os.replace(staging / path.name, path)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    except OSError as err:
        where = err.filename or out_dir
        raise NndslError(f"cannot write {where}: {err.strerror or err}") from None
    return list(changed)


def generate(spec_paths: list[Path], targets: list[Target], out_dir: Path) -> list[Path]:
    """Render everything first, then write; return the paths written."""
    outputs = plan([load_program(p) for p in spec_paths], targets, out_dir)
    return write_package(outputs, out_dir)
