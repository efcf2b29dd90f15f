"""`nndsl fmt`: print a spec in its one canonical layout, keeping every comment.

Layout rules:

- four-space indentation per level, one statement (input, layer, output or setting) per line;
- `name(a, b, key=value)`: no space inside brackets, one after each comma, none around `=`;
  `x = a -> conv2d(8, 3) -> relu()`: one space around `=` and `->`;
  trailing commas are dropped (a one-value tuple keeps its comma: `(784,)`);
- `block NAME(params) {`, `model NAME {`, `repeat N {` and `train {` open their bodies and
  `}` closes each on its own line; one blank line between top-level definitions;
- at most one blank line is kept where the source had any, none after `{` or before `}`;
- a comment on its own line stays before the statement that follows it; a comment at the
  end of a line stays at the end of the last statement (or `}`) on that line; comments
  inside a statement written over several lines move to the end of its first line;
- values keep their written spelling (`0.001` stays `0.001`, `1e-3` stays `1e-3`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lark import Token

from nndsl.syntax import parse_syntax
from nndsl.syntax_tree import (
    BlockDef,
    Call,
    InputStmt,
    Items,
    Keyword,
    LayerStmt,
    Literal,
    Name,
    OutputStmt,
    RepeatStmt,
    Statement,
    Syntax,
    Value,
)

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
class _Item:
    """A line (children empty) or a braced group: `text {`, children, `}` on line `last`."""

    first: int  # first source line
    last: int  # last source line (the closing brace's line for a group)
    text: str
    children: list[_Item] | None = None
    head_last: int = 0  # last source line of a group's header
    blank_before: bool = field(default=False)


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
        """Take the comments on lines first..last, as text to append to a line."""
        last = first if last is None else last
        taken = [t for t in self.tokens if first <= t.line <= last]
        self.tokens = [t for t in self.tokens if t not in taken]
        return "".join(f"  {str(t).rstrip()}" for t in taken)


def _statement(s: Statement) -> _Item:
    if isinstance(s, InputStmt):
        name = f"{s.name.value} = " if s.name else ""
        return _Item(s.span.line, s.span.end_line, f"input {name}{call(s.call)}")
    if isinstance(s, LayerStmt):
        parts = ([s.source.value] if s.source else []) + [call(c) for c in s.calls]
        target = f"{s.target.value} = " if s.target else ""
        return _Item(s.span.line, s.span.end_line, target + " -> ".join(parts))
    if isinstance(s, OutputStmt):
        names = ", ".join(n.value for n in s.names)
        return _Item(s.span.line, s.span.end_line, f"output {names}")
    assert isinstance(s, RepeatStmt)
    children = [_statement(c) for c in s.body]
    head = f"repeat {s.count.text}"
    return _Item(s.span.line, s.span.end_line, head, children, s.count.span.end_line)


def _blank(out: list[str], previous: int | None, line: int) -> None:
    """Keep one blank line where the source had at least one."""
    if (
        previous is not None
        and line - previous > 1
        and out
        and out[-1] != ""
        and not out[-1].endswith("{")
    ):
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
    items: list[_Item], comments: _Comments, depth: int, out: list[str], end: int
) -> int | None:
    """Write items with their comments; return the last source line written.

    A comment at the end of a line belongs to the last thing on that line: an item
    followed on the same line by another (or by the enclosing `}` on line `end`) leaves it
    to that one.
    """
    indent = INDENT * depth
    previous = None
    for index, item in enumerate(items):
        previous = _comment_lines(comments.before(item.first), indent, out, previous)
        _blank(out, previous, item.first)
        following = items[index + 1].first if index + 1 < len(items) else end
        if item.children is None:
            last = item.last - 1 if following == item.last else item.last
            out.append(indent + item.text + comments.trailing(item.first, last))
        else:
            _group(item, comments, depth, out, following)
        previous = item.last
    return previous


def _group(item: _Item, comments: _Comments, depth: int, out: list[str], following: int) -> None:
    """`text {`, the children one level deeper, `}`."""
    indent = INDENT * depth
    children = item.children or []
    shares = bool(children) and children[0].first == item.head_last
    head_comment = "" if shares else comments.trailing(item.first, item.head_last)
    out.append(f"{indent}{item.text} {{{head_comment}")
    previous = _emit(children, comments, depth + 1, out, item.last)
    _comment_lines(comments.before(item.last), indent + INDENT, out, previous)
    close_comment = "" if following == item.last else comments.trailing(item.last)
    out.append(f"{indent}}}{close_comment}")


def _params(block: BlockDef) -> str:
    parts = [p.name if p.default is None else f"{p.name}={value(p.default)}" for p in block.params]
    return ", ".join(parts)


def _top_level(syntax: Syntax) -> list[_Item]:
    items = []
    for block in syntax.blocks:
        children = [_statement(s) for s in block.body]
        head = f"block {block.name}({_params(block)})"
        head_last = block.body[0].span.line if block.body else block.span.end_line
        head_last = min(head_last, block.span.end_line)
        items.append(
            _Item(block.span.line, block.span.end_line, head, children, block.name_span.end_line)
        )
    model = [_statement(s) for s in syntax.body]
    span = syntax.model_span
    items.append(
        _Item(
            span.line,
            span.end_line,
            f"model {syntax.model_name}",
            model,
            syntax.model_name_span.end_line,
        )
    )
    if syntax.train is not None and syntax.train_span is not None:
        settings = [
            _Item(s.span.line, s.value.span.end_line, f"{s.name} {value(s.value)}")
            for s in syntax.train
        ]
        span = syntax.train_span
        items.append(_Item(span.line, span.end_line, "train", settings, span.line))
    return items


def format_syntax(syntax: Syntax) -> str:
    """Canonical text of a parsed spec."""
    comments = _Comments(syntax.comments)
    out: list[str] = []
    items = _top_level(syntax)
    previous: int | None = None
    for index, item in enumerate(items):
        if index > 0:
            out.append("")
            previous = None
        previous = _comment_lines(comments.before(item.first), "", out, previous)
        _blank(out, previous, item.first)
        following = items[index + 1].first if index + 1 < len(items) else 10**9
        _group(item, comments, 0, out, following)
    rest = comments.before(10**9)
    if rest:
        out.append("")
        _comment_lines(rest, "", out, None)
    return "\n".join(out) + "\n"


def format_text(text: str, file: str = "<spec>") -> str:
    """Parse `text` and return it in canonical layout (SpecError on a syntax error)."""
    return format_syntax(parse_syntax(text, file))
