"""`nndsl fmt`: print a spec in its one canonical layout, keeping every comment.

Four-space indentation, one statement per line, `name(a, b, key=value)` with a space after
each comma, one blank line between the model and train blocks, at most one blank line kept
between statements. Values keep their written spelling (`0.001` stays `0.001`).
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Token

from dsl.parser import Call, Items, Keyword, Literal, Name, Setting, Syntax, Value, parse_syntax

INDENT = "    "


def value(v: Value) -> str:
    """Canonical text of one value."""
    if isinstance(v, Literal):
        return v.text
    if isinstance(v, Name):
        return v.value
    if isinstance(v, Call):
        return call(v)
    if isinstance(v, Items):
        inner = ", ".join(value(i) for i in v.items)
        if v.brackets == "()":
            return f"({inner},)" if len(v.items) == 1 else f"({inner})"
        return f"[{inner}]"
    raise TypeError(type(v).__name__)


def _keyword(k: Keyword) -> str:
    return f"{k.name}={value(k.value)}"


def call(c: Call) -> str:
    """Canonical text of a call."""
    args = [value(v) for v in c.positional] + [_keyword(k) for k in c.keywords]
    return f"{c.name}({', '.join(args)})"


@dataclass
class _Line:
    first: int  # first source line of the statement
    last: int  # last source line
    text: str


class _Comments:
    """Comments in source order, handed out as statements claim them."""

    def __init__(self, tokens: tuple[Token, ...]):
        self.tokens = list(tokens)

    def before(self, line: int) -> list[Token]:
        taken = [t for t in self.tokens if t.line < line]
        self.tokens = [t for t in self.tokens if t.line >= line]
        return taken

    def trailing(self, line: int) -> str:
        for token in self.tokens:
            if token.line == line:
                self.tokens.remove(token)
                return f"  {str(token).rstrip()}"
        return ""


def _emit(lines: list[_Line], comments: _Comments, indent: str, out: list[str]) -> None:
    previous = None
    for line in lines:
        leading = comments.before(line.first)
        start = leading[0].line if leading else line.first
        if previous is not None and start - previous > 1:
            out.append("")
        for token in leading:
            out.append(indent + str(token).rstrip())
        out.append(indent + line.text + comments.trailing(line.last))
        previous = line.last


def _statement(prefix: str, node: Call | Setting, text: str) -> _Line:
    span = node.span
    return _Line(span.line, span.end_line, f"{prefix}{text}")


def format_syntax(syntax: Syntax) -> str:
    """Canonical text of a parsed spec."""
    comments = _Comments(syntax.comments)
    out: list[str] = []
    model_line = syntax.model_span.line
    header = comments.before(model_line)
    out.extend(str(token).rstrip() for token in header)
    if header and model_line - header[-1].line > 1:
        out.append("")
    shared = syntax.input.span.line == model_line
    out.append(f"model {syntax.model_name} {{" + ("" if shared else comments.trailing(model_line)))
    body = [_Line(syntax.input.span.line, syntax.input.span.end_line, f"input {call(syntax.input)}")]
    body += [_Line(c.span.line, c.span.end_line, call(c)) for c in syntax.layers]
    _emit(body, comments, INDENT, out)
    for token in comments.before(syntax.model_span.end_line):
        out.append(INDENT + str(token).rstrip())
    out.append("}")
    if syntax.train is not None and syntax.train_span is not None:
        out.append("")
        for token in comments.before(syntax.train_span.line):
            out.append(str(token).rstrip())
        first = syntax.train[0].span.line if syntax.train else -1
        shared = first == syntax.train_span.line
        trailing = "" if shared else comments.trailing(syntax.train_span.line)
        out.append("train {" + trailing)
        settings = [
            _Line(s.span.line, s.value.span.end_line, f"{s.name} {value(s.value)}")
            for s in syntax.train
        ]
        _emit(settings, comments, INDENT, out)
        for token in comments.before(syntax.train_span.end_line):
            out.append(INDENT + str(token).rstrip())
        out.append("}")
    rest = comments.before(10**9)
    if rest:
        out.append("")
        out.extend(str(t).rstrip() for t in rest)
    return "\n".join(out) + "\n"


def format_text(text: str, file: str = "<spec>") -> str:
    """Parse `text` and return it in canonical layout (DslError on a syntax error)."""
    return format_syntax(parse_syntax(text, file))
