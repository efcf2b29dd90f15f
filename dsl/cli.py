"""The `nndsl` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from nndsl import __version__
from nndsl.errors import NndslError, SpecError, printable

EXIT_OK, EXIT_STALE, EXIT_USAGE = 0, 1, 2


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _spec_files(paths: list[str]) -> Iterator[Path]:
    """Expand folders into their `*.nn` files (sorted); keep files as given."""
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(path.rglob("*.nn"))
            if not found:
                raise SpecError("no .nn spec files in this folder", file=name)
            yield from found
        else:
            yield path


def _load(path: Path):
    from nndsl.codegen import load_program

    return load_program(path)


def _list_layers() -> None:
    """Every layer with its signature: positional arguments first, then name=default."""
    from nndsl import ir
    from nndsl.docs import signature

    for cls in ir.LAYERS.values():
        print(
            f"{signature(cls, markdown=False)}\n    {(cls.__doc__ or '').strip().splitlines()[0]}"
        )


def cmd_check(args: argparse.Namespace) -> int:
    if args.list_layers:
        _list_layers()
        return EXIT_OK
    if not args.files:
        raise NndslError("check needs spec files or folders (or --list-layers)")
    failures, count, report = 0, 0, []
    for path in _spec_files(args.files):
        count += 1
        try:
            _load(path)
            report.append({"file": str(path), "errors": []})
        except SpecError as err:
            failures += 1
            report.append({"file": str(path), "errors": [e.as_dict() for e in err.errors]})
            if args.format == "text":
                _say(err.format())
    if args.format == "json":
        print(json.dumps({"specs": report, "failed": failures}, indent=2))
    elif failures:
        _say(f"{failures} of {count} spec(s) have errors")
    else:
        print(f"ok: {count} spec(s)")
    return EXIT_USAGE if failures else EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    from nndsl.summary import summary

    for path in _spec_files(args.files):
        program, _ = _load(path)
        print(summary(program))
    return EXIT_OK


def cmd_ir(args: argparse.Namespace) -> int:
    program, _ = _load(Path(args.file))
    print(program.model_dump_json(indent=2, exclude={"nodes": {"__all__": {"op": {"span"}}}}))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from nndsl import ir

    print(json.dumps(ir.Spec.model_json_schema(), indent=2))
    return EXIT_OK


def cmd_fmt(args: argparse.Namespace) -> int:
    from nndsl.codegen import write_atomic
    from nndsl.fmt import format_text
    from nndsl.syntax import read_spec

    changed = []
    for path in _spec_files(args.files):
        file, text = read_spec(path)
        try:
            pretty = format_text(text, file)
        except SpecError as err:
            err.source = text
            raise
        if pretty != text:
            changed.append(path)
            if not args.check:
                write_atomic(path, pretty)
    verb = "would reformat" if args.check else "reformatted"
    for path in changed:
        _say(f"{verb} {path}")
    if args.check and changed:
        return EXIT_STALE
    return EXIT_OK


def cmd_gen(args: argparse.Namespace) -> int:
    from nndsl import codegen, targets

    chosen = targets.select(args.target)
    programs = [_load(p) for p in _spec_files(args.specs)]
    if args.output == "-":
        if len(programs) != 1 or len(chosen) != 1:
            raise NndslError(
                "-o - prints one module: give one spec and one --target"
                f" (got {len(programs)} spec(s), {len(chosen)} target(s))"
            )
        (program, spec_file), target = programs[0], chosen[0]
        sys.stdout.write(codegen.render(program, target, spec_file, standalone=True))
        return EXIT_OK
    out_dir = Path(args.output)
    outputs = codegen.plan(programs, chosen, out_dir)
    if args.check:
        stale = [p for p, text in outputs if not p.exists() or p.read_text("utf-8") != text]
        for path in stale:
            _say(f"stale: {path} (run `nndsl gen` to regenerate)")
        labels = [codegen.spec_label(Path(name)) for name in args.specs]
        left = codegen.orphans(outputs, out_dir, labels, chosen)
        for path in left:
            _say(f"orphan: {path} (its spec no longer generates it: delete it)")
        return EXIT_STALE if stale or left else EXIT_OK
    written = codegen.write_package(outputs, out_dir)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"{out_dir}: up to date ({len(outputs)} files)")
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    from nndsl.graph import write

    program, _ = _load(Path(args.spec))
    out = Path(args.output) if args.output else Path(f"{program.name}.svg")
    print(f"wrote {write(program, out)}")
    return EXIT_OK


def cmd_data(args: argparse.Namespace) -> int:
    if args.action == "convert":
        from nndsl.shards import convert_command

        return convert_command(args)
    from nndsl.data import fetch_command

    return fetch_command(args.name, Path(args.data_dir) if args.data_dir else None)


def cmd_compare(args: argparse.Namespace) -> int:
    from nndsl.compare_cli import compare

    return compare(args)


def cmd_export(args: argparse.Namespace) -> int:
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise NndslError("ONNX export needs the onnx package: pip install 'nndsl[onnx]'") from None
    from nndsl import onnx_export

    if not args.weights:
        raise NndslError(
            "export needs --weights W.npz: the model's canonical weights (a generated"
            " module's save() writes them)"
        )
    program, _ = _load(Path(args.spec))
    weights = onnx_export.read_weights(args.weights)
    output = Path(args.output) if args.output else Path(f"{program.name}.onnx")
    path = onnx_export.export(program, weights, output, probabilities=args.probabilities)
    print(f"wrote {path} (ONNX opset {onnx_export.OPSET})")
    return EXIT_OK


def cmd_targets(args: argparse.Namespace) -> int:
    from nndsl.targets import registry

    for target in registry().values():
        print(f"{target.name:<8} {target.description}")
    return EXIT_OK


class _Formatter(argparse.HelpFormatter):
    """Help that shows each option's default, when it has one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def _compare_arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `nndsl compare`."""
    sub.add_argument("spec", metavar="SPEC", nargs="?", help="the spec (not with --from)")
    sub.add_argument(
        "--targets", "--target", "-t", default="all", help="all, or a comma-separated list"
    )
    sub.add_argument("--epochs", type=int, default=1, help="epochs per run")
    sub.add_argument("--limit", type=int, help="use only the first N train and test samples")
    sub.add_argument(
        "--repeats", type=int, default=1, help="runs per target, seeds SEED, SEED+1, ..."
    )
    sub.add_argument("--seed", type=int, help="the first run's seed (default: the spec's)")
    sub.add_argument(
        "--own-init",
        action="store_true",
        help="each framework draws its own initial weights (default: the same canonical"
        " weights, drawn from the seed, in every target)",
    )
    sub.add_argument(
        "--format",
        choices=("table", "markdown", "json", "csv"),
        default="table",
        help="what to print",
    )
    sub.add_argument("--report", action="store_true", help="also write report.md (Markdown)")
    sub.add_argument("--out", help="the run's folder (default: results/MODEL/YYYYmmdd-HHMMSS)")
    sub.add_argument(
        "--from",
        dest="source",
        metavar="RESULTS",
        help="no training: print and redraw a results.json (or its folder) written before",
    )
    sub.add_argument("--data-dir", help="default: $NNDSL_DATA_DIR or ~/.cache/nndsl")
    sub.add_argument("--timeout", type=float, help="seconds allowed per run")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nndsl", description="One neural-network spec, code for every framework."
    )
    parser.add_argument("--version", action="version", version=f"nndsl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, formatter_class=_Formatter)
        sub.set_defaults(handler=handler)
        return sub

    sub = add("check", cmd_check, "check spec files (or folders of them) for errors")
    sub.add_argument("files", nargs="*", metavar="FILE", help="specs or folders; - is stdin")
    sub.add_argument("--list-layers", action="store_true", help="list the layers and arguments")
    sub.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json: every error with its file, line, column, end, code and message",
    )
    sub = add("summary", cmd_summary, "print a Keras-like table of layers, shapes and params")
    sub.add_argument("files", nargs="+", metavar="FILE")
    sub = add("ir", cmd_ir, "print the analysed IR of a spec as JSON")
    sub.add_argument("file", metavar="FILE")
    add("schema", cmd_schema, "print the JSON Schema of the IR")
    sub = add("fmt", cmd_fmt, "rewrite specs in canonical layout")
    sub.add_argument("files", nargs="+", metavar="FILE")
    sub.add_argument("--check", action="store_true", help="exit 1 if a file would change")
    sub = add("gen", cmd_gen, "generate framework code from specs")
    sub.add_argument("specs", nargs="+", metavar="SPEC")
    sub.add_argument(
        "--target",
        "--targets",
        "-t",
        default="all",
        help="a target, a comma-separated list, or all (the default)",
    )
    sub.add_argument("-o", "--output", default="generated", help="folder, or - for stdout")
    sub.add_argument("--check", action="store_true", help="exit 1 naming stale files")
    sub = add("graph", cmd_graph, "draw a spec's architecture (DOT, or SVG/PNG/PDF with Graphviz)")
    sub.add_argument("spec", metavar="SPEC")
    sub.add_argument("-o", "--output", help="FILE.svg|.png|.pdf|.dot (default: MODEL.svg)")
    sub = add("data", cmd_data, "manage datasets")
    data = sub.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = data.add_parser("fetch", help="download and verify a dataset")
    fetch.add_argument("name", help="dataset name (mnist)")
    fetch.add_argument("--data-dir", help="default: $NNDSL_DATA_DIR or ~/.cache/nndsl")
    convert = data.add_parser(
        "convert", help="write a dataset as .npy shards for streaming (`train --data DIR`)"
    )
    convert.add_argument("source", help="mnist, FILE.csv (with --test) or FILE.npz")
    convert.add_argument("--out", required=True, metavar="DIR", help="the new shard folder")
    convert.add_argument("--shard-rows", type=int, default=10_000, help="rows per shard file")
    convert.add_argument("--test", metavar="FILE.csv", help="the test split of a CSV source")
    convert.add_argument("--label", default="label", help="a CSV source's label column")
    convert.add_argument("--scale", type=float, default=1.0, help="divide features by this")
    convert.add_argument("--data-dir", help="MNIST's folder: $NNDSL_DATA_DIR or ~/.cache/nndsl")
    sub = add("compare", cmd_compare, "train a spec in every target and compare the runs")
    _compare_arguments(sub)
    sub = add("export", cmd_export, "export a spec with its weights as a model file (ONNX)")
    sub.add_argument("spec", metavar="SPEC")
    sub.add_argument("--format", choices=("onnx",), default="onnx", help="the file format")
    sub.add_argument("--weights", metavar="W.npz", help="canonical weights (.npz); required")
    sub.add_argument("-o", "--output", metavar="FILE", help="default: MODEL.onnx")
    sub.add_argument(
        "--probabilities",
        action="store_true",
        help="also output each model output with its activation (softmax/sigmoid) applied",
    )
    add("targets", cmd_targets, "list the code-generation targets")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except NndslError as err:
        _say(err.format())
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("nndsl: interrupted")
        return 130
    except BrokenPipeError:  # `nndsl ir x.nn | head`: the reader left, nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as err:  # the environment, not nndsl: a full disk, a read-only folder
        where = f"{err.filename}: " if err.filename else ""
        _say(f"nndsl: error: {printable(where + (err.strerror or str(err)))}")
        return EXIT_USAGE
    except Exception as err:  # noqa: BLE001 - one line for users, traceback on request
        from nndsl.data import DataError

        if isinstance(err, DataError):
            _say(f"nndsl: error: {printable(str(err))}")
            return EXIT_USAGE
        if os.environ.get("NNDSL_DEBUG"):
            raise
        _say(f"nndsl: internal error: {type(err).__name__}: {err} (NNDSL_DEBUG=1 for details)")
        return 70


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
