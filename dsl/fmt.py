"""`nndsl fmt`: print a spec in its one canonical layout, keeping every comment.

Layout rules:

- four-space indentation, one statement (input, layer or setting) per line;
- `name(a, b, key=value)`: no space inside brackets, one after each comma, none around `=`;
  trailing commas are dropped (a one-value tuple keeps its comma: `(784,)`);
- `model NAME {` and `train {` open their blocks and `}` closes each on its own line, with
  one blank line between the two blocks;
- at most one blank line is kept where the source had any, none after `{` or before `}`;
- a comment on its own line stays before the statement that follows it; a comment at the
  end of a line stays at the end of the last statement (or `}`) on that line; comments
  inside a call written over several lines move to the end of that call's line;
- values keep their written spelling (`0.001` stays `0.001`, `1e-3` stays `1e-3`).
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Token

from nndsl.parser import Call, Items, Keyword, Literal, Name, Syntax, Value, parse_syntax

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
        """Take the comments on lines before `line`."""
        taken = [t for t in self.tokens if t.line < line]
        self.tokens = [t for t in self.tokens if t.line >= line]
        return taken

    def trailing(self, first: int, last: int | None = None) -> str:
        """Take the comments on lines first..last, as text to append to a statement."""
        last = first if last is None else last
        taken = [t for t in self.tokens if first <= t.line <= last]
        self.tokens = [t for t in self.tokens if t not in taken]
        return "".join(f"  {str(t).rstrip()}" for t in taken)


def _blank(out: list[str], previous: int | None, line: int) -> None:
    """Keep one blank line where the source had at least one."""
    if previous is not None and line - previous > 1 and out and out[-1] != "":
        out.append("")


def _comment_lines(
    tokens: list[Token], indent: str, out: list[str], previous: int | None
) -> int | None:
    for token in tokens:
        _blank(out, previous, token.line)
        out.append(indent + str(token).rstrip())
        previous = token.line
    return previous


def _emit(
    lines: list[_Line], comments: _Comments, indent: str, out: list[str], end: int
) -> int | None:
    """Write statements with their comments; return the last source line written.

    A comment at the end of a line belongs to the last thing on that line: a statement
    followed on the same line by another statement (or by the block's `}` on line `end`)
    leaves it to that one.
    """
    previous = None
    for index, line in enumerate(lines):
        previous = _comment_lines(comments.before(line.first), indent, out, previous)
        _blank(out, previous, line.first)
        following = lines[index + 1].first if index + 1 < len(lines) else end
        last = line.last - 1 if following == line.last else line.last
        out.append(indent + line.text + comments.trailing(line.first, last))
        previous = line.last
    return previous


def format_syntax(syntax: Syntax) -> str:
    """Canonical text of a parsed spec."""
    comments = _Comments(syntax.comments)
    out: list[str] = []
    model_line = syntax.model_span.line
    previous = _comment_lines(comments.before(model_line), "", out, None)
    _blank(out, previous, model_line)
    shared = syntax.input.span.line == model_line
    out.append(f"model {syntax.model_name} {{" + ("" if shared else comments.trailing(model_line)))
    body = [
        _Line(syntax.input.span.line, syntax.input.span.end_line, f"input {call(syntax.input)}")
    ]
    body += [_Line(c.span.line, c.span.end_line, call(c)) for c in syntax.layers]
    end_line = syntax.model_span.end_line
    previous = _emit(body, comments, INDENT, out, end_line)
    previous = _comment_lines(comments.before(end_line), INDENT, out, previous)
    train_on_same_line = syntax.train_span is not None and syntax.train_span.line == end_line
    out.append("}" + ("" if train_on_same_line else comments.trailing(end_line)))
    if syntax.train is not None and syntax.train_span is not None:
        out.append("")
        train_line = syntax.train_span.line
        previous = _comment_lines(comments.before(train_line), "", out, None)
        first = syntax.train[0].span.line if syntax.train else -1
        shared = first == train_line
        out.append("train {" + ("" if shared else comments.trailing(train_line)))
        settings = [
            _Line(s.span.line, s.value.span.end_line, f"{s.name} {value(s.value)}")
            for s in syntax.train
        ]
        end_line = syntax.train_span.end_line
        previous = _emit(settings, comments, INDENT, out, end_line)
        _comment_lines(comments.before(end_line), INDENT, out, previous)
        out.append("}" + comments.trailing(end_line))
    rest = comments.before(10**9)
    if rest:
        out.append("")
        _comment_lines(rest, "", out, None)
    return "\n".join(out) + "\n"


def format_text(text: str, file: str = "<spec>") -> str:
    """Parse `text` and return it in canonical layout (DslError on a syntax error)."""
    return format_syntax(parse_syntax(text, file))
