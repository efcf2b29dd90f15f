"""Parse spec text into the IR: Lark builds a small syntax tree, resolve() types it."""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from pydantic import ValidationError

from dsl import ir
from dsl.errors import DslError, Span, did_you_mean

GRAMMAR = Path(__file__).with_name("grammar.lark")
MAX_INT = 2**31 - 1
KEYWORDS = ("model", "input", "train")


# --- syntax tree: what the grammar says, with spans, before any typing ---


@dataclass(frozen=True)
class Value:
    """A literal, name, list, tuple or call, as written."""

    span: Span


@dataclass(frozen=True)
class Literal(Value):
    value: Any
    text: str


@dataclass(frozen=True)
class Name(Value):
    value: str


@dataclass(frozen=True)
class Items(Value):
    items: tuple[Value, ...]
    brackets: str  # "[]" or "()"


@dataclass(frozen=True)
class Keyword:
    name: str
    span: Span
    value: Value


@dataclass(frozen=True)
class Call(Value):
    name: str
    name_span: Span
    positional: tuple[Value, ...] = ()
    keywords: tuple[Keyword, ...] = ()


@dataclass(frozen=True)
class Setting:
    name: str
    span: Span
    value: Value


@dataclass(frozen=True)
class Syntax:
    """The whole file as written, plus its comments (kept for `nndsl fmt`)."""

    span: Span
    model_name: str
    model_name_span: Span
    model_span: Span
    input: Call
    layers: tuple[Call, ...]
    train: tuple[Setting, ...] | None
    train_span: Span | None
    comments: tuple[Token, ...] = field(default=())


@cache
def _lark() -> Lark:
    return Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
    )


def _span(file: str, item: Any) -> Span:
    meta = getattr(item, "meta", item)
    return Span(
        file=file,
        line=meta.line,
        column=meta.column,
        end_line=meta.end_line,
        end_column=meta.end_column,
    )


class _ToSyntax(Transformer):
    """Turn Lark's tree into the dataclasses above."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _s(self, item: Any) -> Span:
        return _span(self.file, item)

    @v_args(meta=True)
    def number(self, meta: Any, children: list[Token]) -> Literal:
        text = str(children[0])
        span = self._s(meta)
        value: int | float
        if any(c in text for c in ".eE"):
            value = float(text)
            if not math.isfinite(value):
                raise DslError(f"number {text} is out of range", span)
        else:
            value = int(text)
            if abs(value) > MAX_INT:
                raise DslError(f"number {text} is too large (limit {MAX_INT:,})", span)
        return Literal(span, value, text)

    @v_args(meta=True)
    def string(self, meta: Any, children: list[Token]) -> Literal:
        text = str(children[0])
        return Literal(self._s(meta), _unescape(text[1:-1]), text)

    @v_args(meta=True)
    def true(self, meta: Any, children: list[Token]) -> Literal:
        return Literal(self._s(meta), True, "true")

    @v_args(meta=True)
    def false(self, meta: Any, children: list[Token]) -> Literal:
        return Literal(self._s(meta), False, "false")

    @v_args(meta=True)
    def name(self, meta: Any, children: list[Token]) -> Name:
        return Name(self._s(meta), str(children[0]))

    @v_args(meta=True)
    def list(self, meta: Any, children: list[Value]) -> Items:
        return Items(self._s(meta), tuple(c for c in children if c is not None), "[]")

    @v_args(meta=True)
    def tuple(self, meta: Any, children: list[Value]) -> Items:
        return Items(self._s(meta), tuple(c for c in children if c is not None), "()")

    def positional(self, children: list[Value]) -> Value:
        return children[0]

    def keyword(self, children: list[Any]) -> Keyword:
        token, value = children
        return Keyword(str(token), self._s(token), value)

    def arguments(self, children: list[Any]) -> list[Any]:
        return [c for c in children if c is not None]

    @v_args(meta=True)
    def call(self, meta: Any, children: list[Any]) -> Call:
        token, *rest = children
        args = rest[0] if rest else []
        positional: list[Value] = []
        keywords: list[Keyword] = []
        for arg in args:
            if isinstance(arg, Keyword):
                keywords.append(arg)
            elif keywords:
                raise DslError("positional argument after a keyword argument", arg.span)
            else:
                positional.append(arg)
        return Call(self._s(meta), str(token), self._s(token), tuple(positional), tuple(keywords))

    def layer(self, children: list[Call]) -> Call:
        return children[0]

    def input(self, children: list[Call]) -> Call:
        return children[0]

    @v_args(meta=True)
    def setting(self, meta: Any, children: list[Any]) -> Setting:
        token, value = children
        return Setting(str(token), self._s(token), value)

    @v_args(meta=True)
    def model(self, meta: Any, children: list[Any]) -> tuple:
        token, input_call, *layers = children
        return (str(token), self._s(token), self._s(meta), input_call, tuple(layers))

    @v_args(meta=True)
    def train(self, meta: Any, children: list[Setting]) -> tuple:
        return (tuple(children), self._s(meta))

    @v_args(meta=True)
    def start(self, meta: Any, children: list[Any]) -> Syntax:
        (name, name_span, model_span, input_call, layers), *train = children
        settings, train_span = train[0] if train else (None, None)
        return Syntax(
            self._s(meta), name, name_span, model_span, input_call, layers, settings, train_span
        )


def _unescape(text: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(escapes[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


# --- syntax errors, labelled ---

_LABELS = {
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "EQUAL": "'='",
    "NAME": "a name",
    "SIGNED_NUMBER": "a number",
    "STRING": "a string",
    "MODEL": "'model'",
    "INPUT": "'input'",
    "TRAIN": "'train'",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "$END": "end of file",
}


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "NAME":
        return f"name '{token}'"
    return f"'{token}'"


def _syntax_message(err: UnexpectedInput, text: str) -> str:
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
        if char == "'":
            return "strings use double quotes (\")"
        if char == '"':
            return "unterminated string"
        return f"unexpected character {char!r}"
    expected = set(getattr(err, "expected", ()) or ())
    token = getattr(err, "token", None)
    labels = sorted(_LABELS.get(t, t) for t in expected if t not in ("TRUE", "FALSE"))
    if token is not None and token.type == "NAME":
        keywords = [k for k in KEYWORDS if k.upper() in expected]
        if keywords:
            hint = did_you_mean(str(token), keywords)
            return f"unknown keyword '{token}', expected '{keywords[0]}'{hint}"
    if "RPAR" in expected and token is not None and token.type in ("NAME", "SIGNED_NUMBER"):
        return f"missing ',' or ')' before {_describe(token)}"
    got = _describe(token) if token is not None else "end of file"
    if got == "end of file" and "RBRACE" in expected:
        return "unexpected end of file: missing '}'"
    if got == "end of file" and "RPAR" in expected:
        return "unexpected end of file: missing ')'"
    if len(labels) > 4:
        return f"unexpected {got}"
    return f"expected {' or '.join(labels)}, got {got}"


def parse_syntax(text: str, file: str) -> Syntax:
    """Parse text into the syntax tree, raising DslError for syntax errors."""
    comments: list[Token] = []
    try:
        tree: Tree = _lark().parse(text, on_error=None)
    except UnexpectedEOF as err:
        lines = text.splitlines() or [""]
        span = Span(
            file=file,
            line=len(lines),
            column=len(lines[-1]) + 1,
            end_line=len(lines),
            end_column=len(lines[-1]) + 2,
        )
        raise DslError(_syntax_message(err, text), span) from None
    except UnexpectedInput as err:
        line, column = err.line, err.column
        token = getattr(err, "token", None)
        if isinstance(err, UnexpectedToken) and token is not None and token.type == "$END":
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        width = len(str(token)) if token is not None and token.type != "$END" else 1
        span = Span(file=file, line=line, column=column, end_line=line, end_column=column + width)
        raise DslError(_syntax_message(err, text), span) from None
    syntax = _ToSyntax(file).transform(tree)
    for token in _lark().lex(text, dont_ignore=True):
        if token.type == "COMMENT":
            comments.append(token)
    return replace(syntax, comments=tuple(comments))


# --- typing: calls resolved against the IR catalogues ---


def _python(value: Value, nested: dict[str, type[ir.Node]] | None) -> Any:
    """Turn a written value into the Python value a field gets."""
    if isinstance(value, Literal):
        return value.value
    if isinstance(value, Items):
        return tuple(_python(v, None) for v in value.items)
    if nested is not None and isinstance(value, (Name, Call)):
        return resolve(value, nested, "activation")
    if isinstance(value, Name):
        return value.value
    raise DslError(f"'{value.name}(...)' is not allowed here", value.span)


def resolve(value: Value, catalogue: dict[str, type[ir.Node]], what: str) -> ir.Node:
    """Type a call (or bare name) as the IR class its name selects."""
    if isinstance(value, Name):
        value = Call(value.span, value.value, value.span)
    if not isinstance(value, Call):
        raise DslError(f"expected a {what} name, got {_text(value)}", value.span)
    cls = catalogue.get(value.name)
    if cls is None:
        raise DslError(
            f"unknown {what} '{value.name}'{did_you_mean(value.name, catalogue)}", value.name_span
        )
    fields = [f for f in cls.model_fields if f not in ("kind", "span")]
    data: dict[str, Any] = {}
    spans: dict[str, Span] = {}
    if len(value.positional) > len(cls.positional):
        extra = value.positional[len(cls.positional)]
        allowed = ", ".join(cls.positional) or "none"
        raise DslError(
            f"{value.name} takes {len(cls.positional)} positional argument(s) ({allowed}),"
            f" got {len(value.positional)}",
            extra.span,
        )
    named = [(n, v.span, v) for n, v in zip(cls.positional, value.positional)]
    named += [(k.name, k.span, k.value) for k in value.keywords]
    for arg, span, arg_value in named:
        if arg not in fields:
            raise DslError(
                f"{value.name} has no argument '{arg}'{did_you_mean(arg, fields)}", span
            )
        if arg in data:
            raise DslError(f"{value.name} got '{arg}' twice", span)
        nested = ir.ACTIVATIONS if arg == "activation" else None
        data[arg] = _python(arg_value, nested)
        spans[arg] = arg_value.span
    try:
        return cls.model_validate({**data, "span": value.span})
    except ValidationError as err:
        first = err.errors()[0]
        loc = [str(p) for p in first["loc"]]
        arg = loc[0] if loc else ""
        if first["type"] == "missing":
            raise DslError(f"{value.name} needs '{arg}'", value.span) from None
        message = first["msg"].removeprefix("Value error, ")
        span = spans.get(arg, value.span)
        if arg in spans:
            message = f"{value.name} {arg}: {message[:1].lower()}{message[1:]}"
        else:
            message = f"{value.name}: {message}"
        raise DslError(message, span) from None


def _text(value: Value) -> str:
    if isinstance(value, Literal):
        return value.text
    if isinstance(value, Name):
        return value.value
    if isinstance(value, Call):
        return f"{value.name}(...)"
    return "a list"


def _int_setting(setting: Setting) -> int:
    value = setting.value
    if not (isinstance(value, Literal) and type(value.value) is int):
        raise DslError(f"{setting.name} needs a whole number, got {_text(value)}", value.span)
    if value.value < 0:
        raise DslError(f"{setting.name} must not be negative", value.span)
    return value.value


def _metrics(setting: Setting) -> tuple[str, ...]:
    value = setting.value
    if not (isinstance(value, Items) and value.brackets == "[]"):
        raise DslError("metrics needs a list, e.g. [accuracy]", value.span)
    names = []
    for item in value.items:
        if not isinstance(item, Name) or item.value not in ir.METRICS:
            text = _text(item)
            raise DslError(f"unknown metric '{text}'{did_you_mean(text, ir.METRICS)}", item.span)
        names.append(item.value)
    return tuple(names)


SETTINGS = {
    "dataset": lambda s: resolve(s.value, ir.DATASETS, "dataset"),
    "loss": lambda s: resolve(s.value, ir.LOSSES, "loss"),
    "optimizer": lambda s: resolve(s.value, ir.OPTIMIZERS, "optimizer"),
    "epochs": _int_setting,
    "seed": _int_setting,
    "metrics": _metrics,
}
REQUIRED_SETTINGS = ("dataset", "loss", "optimizer")


def _train(settings: tuple[Setting, ...], span: Span) -> ir.Train:
    data: dict[str, Any] = {}
    spans: dict[str, Span] = {}
    for setting in settings:
        handler = SETTINGS.get(setting.name)
        if handler is None:
            hint = did_you_mean(setting.name, SETTINGS)
            raise DslError(f"unknown train setting '{setting.name}'{hint}", setting.span)
        if setting.name in data:
            raise DslError(f"'{setting.name}' is set twice", setting.span)
        data[setting.name] = handler(setting)
        spans[setting.name] = setting.value.span
    for name in REQUIRED_SETTINGS:
        if name not in data:
            raise DslError(f"train needs a '{name}' setting", span)
    try:
        return ir.Train.model_validate({**data, "span": span})
    except ValidationError as err:
        first = err.errors()[0]
        arg = str(first["loc"][0])
        raise DslError(f"{arg}: {first['msg'].lower()}", spans.get(arg, span)) from None


def _model_name(syntax: Syntax) -> str:
    name = syntax.model_name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name.startswith("_"):
        raise DslError(f"model name '{name}' is reserved in Python", syntax.model_name_span)
    if len(name) > 64:
        raise DslError("model name is longer than 64 characters", syntax.model_name_span)
    return name


def parse(text: str, file: str = "<spec>") -> ir.Spec:
    """Parse and type a spec; raises DslError with a span on any problem."""
    syntax = parse_syntax(text, file)
    model = ir.Model(
        name=_model_name(syntax),
        input=resolve(syntax.input, ir.INPUTS, "input"),
        layers=tuple(resolve(call, ir.LAYERS, "layer") for call in syntax.layers),
        span=syntax.model_span,
    )
    train = _train(syntax.train, syntax.train_span) if syntax.train is not None else None
    return ir.Spec(model=model, train=train, span=syntax.span)


def read_spec(path: Path) -> tuple[str, str]:
    """Read a spec file as text, or raise DslError naming the file."""
    file = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DslError("no such file", file=file) from None
    except IsADirectoryError:
        raise DslError("is a directory", file=file) from None
    except OSError as err:
        raise DslError(f"cannot read: {err.strerror}", file=file) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DslError(f"not UTF-8 text (byte {err.start})", file=file) from None
    if "\0" in text:
        raise DslError("contains a NUL byte", file=file)
    return file, text
