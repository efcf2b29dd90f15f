"""Parse spec text into the IR: Lark builds a small syntax tree, resolve() types it."""

from __future__ import annotations

import keyword
import math
import threading
import typing
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError
from pydantic import ValidationError

from nndsl import ir
from nndsl.errors import DslError, Span, did_you_mean

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


_COLLECTED = threading.local()  # the comments the lexer meets during one parse


def _collect_comment(token: Token) -> Token:
    collected = getattr(_COLLECTED, "comments", None)
    if collected is not None:
        collected.append(token)
    return token


@cache
def _lark() -> Lark:
    return Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": _collect_comment},
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
                raise DslError(f"number {text} is out of range (too large for a float)", span)
        else:
            value = int(text)
            if abs(value) > MAX_INT:
                raise DslError(
                    f"number {text} is out of range (whole numbers up to {MAX_INT:,})", span
                )
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
                raise DslError(
                    "a positional argument cannot follow a keyword argument: write name=value",
                    arg.span,
                )
            else:
                positional.append(arg)
        return Call(self._s(meta), str(token), self._s(token), tuple(positional), tuple(keywords))

    def layer(self, children: list[Call]) -> Call:
        return children[0]

    def input(self, children: list[Any]) -> Call:
        return children[-1]  # after the INPUT keyword

    @v_args(meta=True)
    def setting(self, meta: Any, children: list[Any]) -> Setting:
        token, value = children
        return Setting(str(token), self._s(token), value)

    @v_args(meta=True)
    def model(self, meta: Any, children: list[Any]) -> tuple:
        _keyword, token, input_call, *layers = children
        return (str(token), self._s(token), self._s(meta), input_call, tuple(layers))

    @v_args(meta=True)
    def train(self, meta: Any, children: list[Any]) -> tuple:
        return (tuple(children[1:]), self._s(meta))  # after the TRAIN keyword

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
    "$END": "the end of the file",
    "<END-OF-FILE>": "the end of the file",
}
_CLOSER = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_OPENER = {closer: opener for opener, closer in _CLOSER.items()}
_TEXT = {"LPAR": "(", "RPAR": ")", "LSQB": "[", "RSQB": "]", "LBRACE": "{", "RBRACE": "}"}
_VALUE_START = {"NAME", "SIGNED_NUMBER", "STRING", "LSQB", "LPAR", "TRUE", "FALSE"}
_KEYWORD_TOKENS = {"MODEL": "model", "INPUT": "input", "TRAIN": "train"}
_ESCAPES = '"\\nt'
SPEC_START = "a spec starts with 'model NAME {'"


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "STRING":
        return str(token)
    return f"'{token}'"


def _at(file: str, token: Token) -> Span:
    return Span(
        file=file,
        line=token.line,
        column=token.column,
        end_line=token.end_line,
        end_column=token.end_column,
    )


def _after(file: str, token: Token) -> Span:
    """The column just past `token`: where a missing ')' or ',' belongs."""
    line, column = token.end_line, token.end_column
    return Span(file=file, line=line, column=column, end_line=line, end_column=column + 1)


def _offset_span(file: str, text: str, pos: int) -> Span:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return Span(file=file, line=line, column=column, end_line=line, end_column=column + 1)


def _tokens_before(text: str, pos: int) -> list[Token]:
    """The significant tokens that start before `pos` (the parser accepted them)."""
    tokens: list[Token] = []
    try:
        for token in _lark().lex(text):
            if token.start_pos >= pos:
                break
            tokens.append(token)
    except UnexpectedInput:
        pass
    return tokens


def _open_brackets(tokens: list[Token]) -> list[Token]:
    stack: list[Token] = []
    for token in tokens:
        if token.type in _CLOSER:
            stack.append(token)
        elif token.type in _OPENER and stack and stack[-1].type == _OPENER[token.type]:
            stack.pop()
    return stack


def _is_name(token: Token | None) -> bool:
    return token is not None and token.type == "NAME"


def _missing_closer(opener: Token) -> str:
    closer = _TEXT[_CLOSER[opener.type]]
    return f"missing '{closer}' to close the '{opener}' on line {opener.line}"


def _skip_group(tokens: list[Token], index: int) -> int:
    """Index just past the bracket group opening at tokens[index]."""
    depth = 0
    for i in range(index, len(tokens)):
        if tokens[i].type in _CLOSER:
            depth += 1
        elif tokens[i].type in _OPENER:
            depth -= 1
            if depth == 0:
                return i + 1
    return len(tokens)


def _setting_without_value(before: list[Token], top: Token) -> Token | None:
    """In a train block, the first setting whose value does not start on its line."""
    start = next(i for i, t in enumerate(before) if t is top)
    if start == 0 or str(before[start - 1]) != "train":
        return None
    tokens = before[start + 1 :]
    i = 0
    while i + 1 < len(tokens):
        name, value = tokens[i], tokens[i + 1]
        if value.line > name.end_line:
            return name
        i += 2
        if value.type == "NAME" and i < len(tokens) and tokens[i].type == "LPAR":
            i = _skip_group(tokens, i)
        elif value.type in _CLOSER:
            i = _skip_group(tokens, i - 1)
    return None


def _bad_character(err: UnexpectedCharacters, text: str, file: str) -> DslError:
    pos = err.pos_in_stream
    char = text[pos] if pos < len(text) else ""
    span = _offset_span(file, text, pos)
    if char == "'":
        return DslError('strings use double quotes ("), not single quotes', span)
    if char == '"':
        i = pos + 1
        while i < len(text) and text[i] not in '"\n':
            if text[i] == "\\":
                escape = text[i + 1 : i + 2]
                if escape in ("", "\n"):
                    break
                if escape not in _ESCAPES:
                    return DslError(
                        f"unknown escape '\\{escape}' in a string" ' (use \\n, \\t, \\" or \\\\)',
                        _offset_span(file, text, i),
                    )
                i += 1
            i += 1
        return DslError("unterminated string: missing the closing '\"' on this line", span)
    if char.isalnum():
        return DslError(
            f"unexpected character {char!r}: names use ASCII letters, digits and '_'", span
        )
    shown = f"'{char}'" if char.isprintable() else repr(char)
    return DslError(f"unexpected character {shown}", span)


def _at_end(text: str, file: str, before: list[Token], expected: set[str]) -> DslError:
    if not before:
        if text.strip():
            return DslError(f"no model in this file: {SPEC_START}", _offset_span(file, text, 0))
        return DslError(f"empty file: {SPEC_START}", _offset_span(file, text, 0))
    last = before[-1]
    stack = _open_brackets(before)
    where = _after(file, last)
    if stack:
        return DslError(f"unexpected end of file: {_missing_closer(stack[-1])}", where)
    if expected >= {"NAME", "SIGNED_NUMBER", "STRING"}:
        return DslError(f"unexpected end of file: expected a value after '{last}'", where)
    labels = sorted(_LABELS.get(t, t) for t in expected if t not in ("TRUE", "FALSE"))
    return DslError(f"unexpected end of file: expected {' or '.join(labels)}", where)


def _unexpected(
    token: Token, text: str, file: str, before: list[Token], expected: set[str]
) -> DslError:
    kind = token.type
    got = _describe(token)
    here = _at(file, token)
    prev = before[-1] if before else None
    stack = _open_brackets(before)
    top = stack[-1] if stack else None
    if top is not None and top.type == "LBRACE":
        setting = _setting_without_value(before, top)
        if setting is not None:
            return DslError(f"missing a value after '{setting}'", _after(file, setting))
    # a closing bracket where it cannot go
    if kind in _OPENER:
        if not any(t.type == _OPENER[kind] for t in stack):
            return DslError(f"unmatched '{token}'", here)
        if top is not None and top.type != _OPENER[kind] and prev is not None:
            return DslError(_missing_closer(top), _after(file, prev))
    # a statement starts on a later line while a bracket is still open
    if (
        top is not None
        and prev is not None
        and _CLOSER[top.type] in expected
        and token.line > prev.end_line
    ):
        return DslError(_missing_closer(top), _after(file, prev))
    # a keyword is expected: model / input / train
    keywords = [_KEYWORD_TOKENS[t] for t in ("MODEL", "INPUT", "TRAIN") if t in expected]
    if keywords and kind in ("NAME", *_KEYWORD_TOKENS):
        hint = did_you_mean(str(token), keywords)
        if hint and kind == "NAME":
            return DslError(f"unknown keyword '{token}'{hint}", here)
        if keywords[0] == "model":
            return DslError(f"{SPEC_START}, got {got}", here)
        if keywords[0] == "input":
            return DslError(
                f"a model starts with its input, e.g. 'input image(28, 28, 1)', got {got}", here
            )
        extra = " (a file holds one model)" if str(token) == "model" else ""
        return DslError(f"expected 'train {{' or the end of the file, got {got}{extra}", here)
    if "INPUT" in expected and kind == "RBRACE":
        return DslError("a model needs an input, e.g. 'input image(28, 28, 1)'", here)
    # `flatten` without its parentheses
    if expected == {"LPAR"} and prev is not None and prev.type == "NAME":
        return DslError(f"missing '(' after '{prev}' (write {prev}(...))", _after(file, prev))
    if expected == {"COMMA"} and kind == "RPAR" and prev is not None:
        return DslError(f"a one-value tuple needs a trailing comma: ({prev},)", here)
    if kind == "LBRACE":
        return DslError("unexpected '{': braces only open the model and train blocks", here)
    if kind == "EQUAL" and top is not None and top.type == "LBRACE" and _is_name(prev):
        return DslError(f"train settings take no '=': write '{prev} VALUE'", here)
    if kind == "EQUAL" and prev is not None and prev.type == "NAME":
        return DslError(
            f"unexpected '=' after '{prev}': name=value goes directly inside a call's (...)",
            here,
        )
    if kind == "COMMA" and top is not None and top.type == "LBRACE":
        return DslError("layers and settings are not separated by ','", here)
    # two values in a row inside (...) or [...]
    if "COMMA" in expected and kind in _VALUE_START and prev is not None:
        earlier = before[-2] if len(before) > 1 else None
        if (
            prev.type == "NAME"
            and top is not None
            and top.type == "LPAR"
            and earlier is not None
            and earlier.type in ("LPAR", "COMMA")
        ):
            return DslError(f"missing '=' after '{prev}'", _after(file, prev))
        return DslError(f"missing ',' before {got}", here)
    if expected >= {"NAME", "SIGNED_NUMBER", "STRING"} and prev is not None:
        return DslError(f"expected a value after '{prev}', got {got}", here)
    if "NAME" in expected and prev is not None and prev.type == "MODEL":
        return DslError(f"expected the model's name after 'model', got {got}", here)
    labels = sorted(_LABELS.get(t, t) for t in expected if t not in ("TRUE", "FALSE"))
    if len(labels) > 4:
        return DslError(f"unexpected {got}", here)
    return DslError(f"expected {' or '.join(labels)}, got {got}", here)


def _syntax_error(err: UnexpectedInput, text: str, file: str) -> DslError:
    """Turn Lark's error into one labelled message at the right column."""
    if isinstance(err, UnexpectedCharacters):
        return _bad_character(err, text, file)
    expected = set(getattr(err, "expected", ()) or ())
    token = getattr(err, "token", None)
    if isinstance(err, UnexpectedEOF) or token is None or token.type == "$END":
        return _at_end(text, file, _tokens_before(text, len(text)), expected)
    return _unexpected(token, text, file, _tokens_before(text, token.start_pos), expected)


def parse_syntax(text: str, file: str) -> Syntax:
    """Parse text into the syntax tree, raising DslError for syntax errors."""
    _COLLECTED.comments = []
    try:
        tree: Tree = _lark().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, file) from None
    finally:
        comments = tuple(_COLLECTED.comments)
        _COLLECTED.comments = []
    try:
        syntax = _ToSyntax(file).transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, DslError):
            raise err.orig_exc from None
        raise
    return replace(syntax, comments=comments)


# --- typing: calls resolved against the IR catalogues ---

EXAMPLES = {
    "layer": "dense(10)",
    "input": "image(28, 28, 1)",
    "activation": "relu or leaky_relu(0.1)",
    "dataset": "mnist",
    "loss": "categorical_crossentropy",
    "optimizer": "adam(0.001)",
}
_ORDINALS = ("1st", "2nd", "3rd")


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _ordinal(index: int) -> str:
    return _ORDINALS[index] if index < len(_ORDINALS) else f"{index + 1}th"


def _python(value: Value, nested: dict[str, type[ir.Node]] | None, owner: str, arg: str) -> Any:
    """Turn a written value into the Python value a field gets."""
    if nested is not None:
        if isinstance(value, (Name, Call)):
            return resolve(value, nested, arg)
        raise DslError(
            f"{owner} {arg} must be {_article(arg)} such as {EXAMPLES[arg]}, got {_text(value)}",
            value.span,
        )
    if isinstance(value, Literal):
        return value.value
    if isinstance(value, Items):
        return tuple(_python(v, None, owner, arg) for v in value.items)
    if isinstance(value, Name):
        return value.value
    raise DslError(f"{owner} {arg} cannot be a call, got {_text(value)}", value.span)


def resolve(value: Value, catalogue: dict[str, type[ir.Node]], what: str) -> ir.Node:
    """Type a call (or bare name) as the IR class its name selects."""
    if isinstance(value, Name):
        value = Call(value.span, value.value, value.span)
    if not isinstance(value, Call):
        example = EXAMPLES.get(what, "")
        raise DslError(
            f"{what} must be {_article(what)} name such as {example}, got {_text(value)}",
            value.span,
        )
    cls = catalogue.get(value.name)
    if cls is None:
        hint = did_you_mean(value.name, catalogue)
        if not hint and len(catalogue) <= 10:
            hint = f"; choose from {', '.join(catalogue)}"
        raise DslError(f"unknown {what} '{value.name}'{hint}", value.name_span)
    name = value.name
    fields = [f for f in cls.model_fields if f not in ("kind", "span")]
    if len(value.positional) > len(cls.positional):
        extra = value.positional[len(cls.positional)]
        if not fields:
            message = f"{name} takes no arguments"
        elif not cls.positional:
            message = f"{name} takes no positional arguments: write name=value"
        else:
            allowed = ", ".join(cls.positional)
            message = (
                f"{name} takes {_plural(len(cls.positional), 'positional argument')}"
                f" ({allowed}), got {len(value.positional)}: write the others as name=value"
            )
        raise DslError(message, extra.span)
    data: dict[str, Any] = {}
    written: dict[str, Value] = {}
    named = [(n, v.span, v, i) for i, (n, v) in enumerate(zip(cls.positional, value.positional))]
    named += [(k.name, k.span, k.value, None) for k in value.keywords]
    first_positional: dict[str, int] = {}
    for arg, span, arg_value, index in named:
        if arg not in fields:
            hint = did_you_mean(arg, fields)
            if not hint:
                hint = f"; its arguments are {', '.join(fields)}" if fields else ""
            raise DslError(f"{name} has no argument '{arg}'{hint}", span)
        if arg in data:
            also = ""
            if arg in first_positional:
                also = f": it is also the {_ordinal(first_positional[arg])} positional argument"
            raise DslError(f"{name} got '{arg}' twice{also}", span)
        if index is not None:
            first_positional[arg] = index
        nested = ir.ACTIVATIONS if arg == "activation" else None
        data[arg] = _python(arg_value, nested, name, arg)
        written[arg] = arg_value
    try:
        return cls.model_validate({**data, "span": value.span})
    except ValidationError as err:
        raise _validation_error(err, cls, name, written, value.span) from None


def _choices(cls: type[ir.Node], field: str) -> tuple[Any, ...]:
    info = cls.model_fields.get(field)
    if info is None:
        return ()
    args = typing.get_args(info.annotation)
    return args if all(isinstance(a, (str, int)) for a in args) else ()


def _explain(error: Any, cls: type[ir.Node], field: str) -> str:
    """pydantic's error type, as a phrase that follows `<call> <argument>`."""
    kind, ctx = error["type"], error.get("ctx", {})
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind == "string_type":
        return 'must be a string in double quotes, e.g. "data/train.csv"'
    if kind in ("tuple_type", "list_type"):
        rank = getattr(cls, "rank", None)
        if field in ("kernel", "stride", "dilation", "size") and rank is not None:
            return "must be a whole number or a tuple of them"
        return "must be a tuple of whole numbers, e.g. (7, 7, 16)"
    if kind == "greater_than":
        return f"must be greater than {_number(ctx['gt'])}"
    if kind == "greater_than_equal":
        return f"must be at least {_number(ctx['ge'])}"
    if kind == "less_than":
        return f"must be less than {_number(ctx['lt'])}"
    if kind == "less_than_equal":
        return f"must be at most {_number(ctx['le'])}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "literal_error":
        choices = [str(c) for c in _choices(cls, field)]
        if len(choices) == 1:
            return f"must be {choices[0]}"
        if len(choices) == 2:
            return f"must be {choices[0]} or {choices[1]}"
        return f"must be one of {', '.join(choices)}"
    message = str(error.get("msg", "is not valid"))
    message = message.removeprefix("Value error, ").replace("Input should", "should")
    return message[:1].lower() + message[1:]


def _number(value: Any) -> str:
    """`1.0` as a reader writes it: `1`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _item(value: Value | None, path: list[Any]) -> Value | None:
    """The written value at `path` inside lists and tuples, if it is there."""
    for step in path:
        if not (isinstance(value, Items) and isinstance(step, int) and step < len(value.items)):
            return None
        value = value.items[step]
    return value


def _validation_error(
    err: ValidationError,
    cls: type[ir.Node],
    owner: str,
    written: dict[str, Value],
    span: Span,
) -> DslError:
    first = err.errors()[0]
    loc = list(first["loc"])
    cause = first.get("ctx", {}).get("error")
    prefix = f"{owner} " if owner else ""
    if isinstance(cause, ir.ArgError):
        arg_value = written.get(cause.field)
        return DslError(f"{prefix}{cause.message}", arg_value.span if arg_value else span)
    if not loc:
        return DslError(f"{prefix}{_explain(first, cls, '')}".strip(), span)
    field = str(loc[0])
    if first["type"] == "missing":
        return DslError(f"{prefix}is missing the required argument '{field}'", span)
    arg_value = written.get(field)
    item = _item(arg_value, loc[1:])
    what = field if item is arg_value else f"{field} values"
    message = f"{prefix}{what} {_explain(first, cls, field)}"
    if item is not None:
        message += f", got {_text(item)}"
        if first["type"] == "literal_error" and isinstance(item, Name):
            message += did_you_mean(item.value, [str(c) for c in _choices(cls, field)])
    return DslError(message, item.span if item is not None else span)


def _text(value: Value) -> str:
    if isinstance(value, Literal):
        return value.text
    if isinstance(value, Name):
        return value.value
    if isinstance(value, Call):
        return f"{value.name}(...)"
    inner = ", ".join(_text(v) for v in value.items)
    if value.brackets == "[]":
        return f"[{inner}]"
    return f"({inner},)" if len(value.items) == 1 else f"({inner})"


def _int_setting(setting: Setting) -> int:
    value = setting.value
    if not (isinstance(value, Literal) and type(value.value) is int):
        raise DslError(f"{setting.name} must be a whole number, got {_text(value)}", value.span)
    if value.value < 0:
        raise DslError(f"{setting.name} must not be negative, got {value.text}", value.span)
    return value.value


def _metrics(setting: Setting) -> tuple[str, ...]:
    value = setting.value
    if not (isinstance(value, Items) and value.brackets == "[]"):
        raise DslError(
            f"metrics must be a list such as [accuracy], got {_text(value)}", value.span
        )
    names = []
    for item in value.items:
        if not isinstance(item, Name) or item.value not in ir.METRICS:
            text = _text(item)
            hint = did_you_mean(text, ir.METRICS) or f"; choose from {', '.join(ir.METRICS)}"
            raise DslError(f"unknown metric '{text}'{hint}", item.span)
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
SETTING_EXAMPLES = {
    "dataset": "dataset mnist",
    "loss": "loss categorical_crossentropy",
    "optimizer": "optimizer adam(0.001)",
}


def _train(settings: tuple[Setting, ...], span: Span) -> ir.Train:
    data: dict[str, Any] = {}
    seen: dict[str, Setting] = {}
    for setting in settings:
        handler = SETTINGS.get(setting.name)
        if handler is None:
            hint = did_you_mean(setting.name, SETTINGS) or f"; choose from {', '.join(SETTINGS)}"
            raise DslError(f"unknown train setting '{setting.name}'{hint}", setting.span)
        if setting.name in seen:
            first = seen[setting.name].span.line
            raise DslError(f"'{setting.name}' is set twice (first on line {first})", setting.span)
        data[setting.name] = handler(setting)
        seen[setting.name] = setting
    for name in REQUIRED_SETTINGS:
        if name not in data:
            example = SETTING_EXAMPLES[name]
            raise DslError(f"train needs a '{name}' setting, e.g. '{example}'", span)
    try:
        return ir.Train.model_validate({**data, "span": span})
    except ValidationError as err:
        written = {name: setting.value for name, setting in seen.items()}
        raise _validation_error(err, ir.Train, "", written, span) from None


def _model_name(syntax: Syntax) -> str:
    name = syntax.model_name
    span = syntax.model_name_span
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise DslError(f"model name '{name}' is a Python keyword; choose another name", span)
    if name.startswith("_"):
        raise DslError(f"model name '{name}' must not start with '_'", span)
    if len(name) > 64:
        raise DslError(f"model name is {len(name)} characters long; the limit is 64", span)
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
        shown = data.decode("utf-8", errors="replace")
        prefix = data[: err.start].decode("utf-8", errors="replace")
        raise _located(
            f"not UTF-8 text: byte 0x{data[err.start]:02x} cannot be decoded (save it as UTF-8)",
            file,
            shown,
            len(prefix),
        ) from None
    if "\0" in text:
        raise _located("NUL byte in the file: is it a text file?", file, text, text.index("\0"))
    return file, text


def _located(message: str, file: str, text: str, pos: int) -> DslError:
    err = DslError(message, _offset_span(file, text, pos))
    err.source = text
    return err
