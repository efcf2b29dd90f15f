"""Syntax errors, labelled: Lark's expected-token sets turned into one clear message each."""

from __future__ import annotations

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from nndsl.errors import Span, SpecError, did_you_mean
from nndsl.ir import LAYERS
from nndsl.syntax import KEYWORDS, lark

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
    "ARROW": "'->'",
    "MODEL": "'model'",
    "BLOCK": "'block'",
    "INPUT": "'input'",
    "OUTPUT": "'output'",
    "REPEAT": "'repeat'",
    "TRAIN": "'train'",
    "$END": "the end of the file",
    "<END-OF-FILE>": "the end of the file",
}
_CLOSER = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_OPENER = {closer: opener for opener, closer in _CLOSER.items()}
_TEXT = {"LPAR": "(", "RPAR": ")", "LSQB": "[", "RSQB": "]", "LBRACE": "{", "RBRACE": "}"}
_VALUE_START = {"NAME", "SIGNED_NUMBER", "STRING", "LSQB", "LPAR", "TRUE", "FALSE", "INPUT"}
_KEYWORD_TOKENS = {t.upper(): t for t in KEYWORDS}
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
        for token in lark().lex(text):
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


def _in_train(before: list[Token], top: Token) -> bool:
    """Whether the open brace `top` is the train block's."""
    start = next(i for i, t in enumerate(before) if t is top)
    return top.type == "LBRACE" and start > 0 and before[start - 1].type == "TRAIN"


def _setting_without_value(before: list[Token], top: Token) -> Token | None:
    """In a train block, the first setting whose value does not start on its line."""
    if not _in_train(before, top):
        return None
    start = next(i for i, t in enumerate(before) if t is top)
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


def _bad_character(err: UnexpectedCharacters, text: str, file: str) -> SpecError:
    pos = err.pos_in_stream
    char = text[pos] if pos < len(text) else ""
    span = _offset_span(file, text, pos)
    if char == "'":
        return SpecError('strings use double quotes ("), not single quotes', span)
    if char == '"':
        i = pos + 1
        while i < len(text) and text[i] not in '"\n':
            if text[i] == "\\":
                escape = text[i + 1 : i + 2]
                if escape in ("", "\n"):
                    break
                if escape not in _ESCAPES:
                    return SpecError(
                        f"unknown escape '\\{escape}' in a string" ' (use \\n, \\t, \\" or \\\\)',
                        _offset_span(file, text, i),
                    )
                i += 1
            i += 1
        return SpecError("unterminated string: missing the closing '\"' on this line", span)
    if char.isnumeric():
        return SpecError(f"unexpected character {char!r}: numbers use the ASCII digits 0-9", span)
    if char.isalnum():
        return SpecError(
            f"unexpected character {char!r}: names use ASCII letters, digits and '_'", span
        )
    shown = f"'{char}'" if char.isprintable() else repr(char)
    return SpecError(f"unexpected character {shown}", span)


def _at_end(text: str, file: str, before: list[Token], expected: set[str]) -> SpecError:
    if not before:
        if text.strip():
            return SpecError(f"no model in this file: {SPEC_START}", _offset_span(file, text, 0))
        return SpecError(f"empty file: {SPEC_START}", _offset_span(file, text, 0))
    last = before[-1]
    stack = _open_brackets(before)
    where = _after(file, last)
    if stack:
        return SpecError(f"unexpected end of file: {_missing_closer(stack[-1])}", where)
    if expected >= {"NAME", "SIGNED_NUMBER", "STRING"}:
        return SpecError(f"unexpected end of file: expected a value after '{last}'", where)
    labels = sorted(_LABELS.get(t, t) for t in expected if t not in ("TRUE", "FALSE"))
    return SpecError(f"unexpected end of file: expected {' or '.join(labels)}", where)


def _unexpected(
    token: Token, text: str, file: str, before: list[Token], expected: set[str]
) -> SpecError:
    kind = token.type
    got = _describe(token)
    here = _at(file, token)
    prev = before[-1] if before else None
    stack = _open_brackets(before)
    top = stack[-1] if stack else None
    if top is not None and top.type == "LBRACE":
        setting = _setting_without_value(before, top)
        if setting is not None:
            return SpecError(f"missing a value after '{setting}'", _after(file, setting))
    # a closing bracket where it cannot go
    if kind in _OPENER:
        if not any(t.type == _OPENER[kind] for t in stack):
            return SpecError(f"unmatched '{token}'", here)
        if top is not None and top.type != _OPENER[kind] and prev is not None:
            return SpecError(_missing_closer(top), _after(file, prev))
    # a statement starts on a later line while a bracket is still open
    if (
        top is not None
        and prev is not None
        and _CLOSER[top.type] in expected
        and token.line > prev.end_line
    ):
        return SpecError(_missing_closer(top), _after(file, prev))
    # at the top level: `model` or `block` expected, or `train` after the model
    if kind in ("NAME", *_KEYWORD_TOKENS) and top is None:
        words = [w for t, w in _KEYWORD_TOKENS.items() if t in expected]
        hint = did_you_mean(str(token), words) if kind == "NAME" else ""
        if hint:
            return SpecError(f"unknown keyword '{token}'{hint}", here)
        if "MODEL" in expected:
            return SpecError(f"{SPEC_START}, got {got}", here)
        if "TRAIN" in expected:
            extra = ""
            if str(token) == "model":
                extra = " (a file holds one model)"
            elif str(token) == "block":
                extra = " (blocks are defined before the model)"
            return SpecError(f"expected 'train {{' or the end of the file, got {got}{extra}", here)
    # `flatten` without its parentheses, or a bare name where a statement starts
    in_body = top is None or (top.type == "LBRACE" and not _in_train(before, top))
    if in_body and _is_name(prev) and "LPAR" in expected and kind not in expected:
        if "EQUAL" not in expected or str(prev) in LAYERS or token.line == prev.line:
            return SpecError(f"missing '(' after '{prev}' (write {prev}(...))", _after(file, prev))
        return SpecError(
            f"'{prev}' alone is not a statement: write {prev}(...) to call a layer,"
            f" {prev} = ... to name a result or {prev} -> ... to feed a tensor",
            _at(file, prev),
        )
    if expected == {"COMMA"} and kind == "RPAR" and prev is not None:
        return SpecError(f"a one-value tuple needs a trailing comma: ({prev},)", here)
    if kind == "LBRACE":
        return SpecError(
            "unexpected '{': braces only open the model, block, repeat and train bodies", here
        )
    if kind == "EQUAL" and top is not None and _in_train(before, top) and _is_name(prev):
        return SpecError(f"train settings take no '=': write '{prev} VALUE'", here)
    if kind == "EQUAL" and prev is not None and prev.type == "NAME":
        return SpecError(
            f"unexpected '=' after '{prev}': name=value goes directly inside a call's (...)",
            here,
        )
    if kind == "COMMA" and top is not None and top.type == "LBRACE":
        return SpecError("statements and settings are not separated by ','", here)
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
            return SpecError(f"missing '=' after '{prev}'", _after(file, prev))
        return SpecError(f"missing ',' before {got}", here)
    if expected >= {"NAME", "SIGNED_NUMBER", "STRING"} and prev is not None:
        return SpecError(f"expected a value after '{prev}', got {got}", here)
    if "NAME" in expected and prev is not None and prev.type == "MODEL":
        return SpecError(f"expected the model's name after 'model', got {got}", here)
    labels = sorted(_LABELS.get(t, t) for t in expected if t not in ("TRUE", "FALSE"))
    if len(labels) > 4:
        return SpecError(f"unexpected {got}", here)
    return SpecError(f"expected {' or '.join(labels)}, got {got}", here)


def syntax_error(err: UnexpectedInput, text: str, file: str) -> SpecError:
    """Turn Lark's error into one labelled message at the right column."""
    if isinstance(err, UnexpectedCharacters):
        return _bad_character(err, text, file)
    expected = set(getattr(err, "expected", ()) or ())
    token = getattr(err, "token", None)
    if isinstance(err, UnexpectedEOF) or token is None or token.type == "$END":
        return _at_end(text, file, _tokens_before(text, len(text)), expected)
    return _unexpected(token, text, file, _tokens_before(text, token.start_pos), expected)
