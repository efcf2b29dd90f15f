"""Syntax tree -> IR Spec: statements become a graph of named tensors, blocks are expanded.

Names: a model input is its declared name (`input` when unnamed); a node is
`<kind>_<n>`, n counting that kind from 1; inside a block instance the node's name is
prefixed with `<block>_<i>_`, i counting that block's uses in the enclosing scope. Inside a
block, `input` is the block's input tensor. A statement without a source takes the previous
statement's result; a name bound twice refers to its latest binding.
"""

from __future__ import annotations

import keyword
from collections import Counter
from dataclasses import dataclass, field, replace

from pydantic import ValidationError

from nndsl import ir
from nndsl.blocks import bind, bound_later, check_blocks, substitute
from nndsl.calls import _text, _validation_error, resolve
from nndsl.errors import MAX_ERRORS, Span, SpecError, SpecErrors, did_you_mean, with_trace
from nndsl.syntax import KEYWORDS, parse_syntax
from nndsl.syntax_tree import (
    Call,
    InputStmt,
    LayerStmt,
    Name,
    OutputStmt,
    RepeatStmt,
    Setting,
    Statement,
    Syntax,
    Value,
)
from nndsl.train_settings import train_section

MAX_NODES = 10_000  # layers after expanding blocks and repeats
POISON = (
    "\0failed"  # the result of a statement that failed: later statements reading it are skipped
)
MAX_REPEAT = 1_000
MAX_BLOCK_DEPTH = 16
MAX_NAME = 64


@dataclass
class _Scope:
    """What names mean in the body being expanded (the model's, or one block instance's)."""

    tensors: dict[str, str] = field(default_factory=dict)  # spec name -> tensor
    previous: str | None = None  # result of the last statement
    block_input: str | None = None  # what `input` means inside a block
    params: dict[str, Value] = field(default_factory=dict)  # block parameters
    prefix: str = ""
    counters: Counter = field(default_factory=Counter)
    trace: tuple[tuple[str, Span], ...] = ()  # (block, use site), outermost first
    instance: str = ""  # the outermost block instance being expanded
    later: dict[str, int] = field(default_factory=dict)  # names this body binds -> line


class _Skip(Exception):
    """A statement reading the result of one that already failed: skipped without a message."""


class _Builder:
    def __init__(self, syntax: Syntax):
        self.syntax = syntax
        self.blocks = check_blocks(syntax.blocks)
        self.inputs: list[ir.InputDecl] = []
        self.nodes: list[ir.GraphNode] = []
        self.made_by: dict[str, tuple[Span, str | None, tuple]] = {}  # tensor -> statement
        self.outputs: tuple[str, ...] | None = None
        self.errors: list[SpecError] = []

    # --- statements ---

    def body(self, statements: tuple[Statement, ...], scope: _Scope) -> None:
        """Each statement in turn. At the model's level an error is recorded and the
        statement's result marked failed, so the independent errors after it are found too;
        inside a block the first error ends the block's use."""
        outer, scope.later = scope.later, bound_later(statements)
        for index, statement in enumerate(statements):
            try:
                self.statement(statement, scope, last=index == len(statements) - 1)
            except (SpecError, _Skip) as err:
                if scope.trace:
                    raise
                if isinstance(err, SpecError):
                    self.errors.append(err)
                    if len(self.errors) >= MAX_ERRORS or err.code == "limit":
                        raise SpecErrors(self.errors) from None
                if isinstance(statement, LayerStmt):
                    scope.previous = POISON
                    if statement.target is not None:
                        scope.tensors[statement.target.value] = POISON
        scope.later = outer

    def statement(self, statement: Statement, scope: _Scope, last: bool) -> None:
        if isinstance(statement, InputStmt):
            self.input(statement, scope)
        elif isinstance(statement, LayerStmt):
            self.layers(statement, scope)
        elif isinstance(statement, OutputStmt):
            self.output(statement, scope, last)
        elif isinstance(statement, RepeatStmt):
            self.repeat(statement, scope)

    def input(self, statement: InputStmt, scope: _Scope) -> None:
        if scope.trace:
            raise SpecError(
                "a block cannot declare a model input: inside a block, `input` is the"
                " block's input tensor",
                statement.span,
            )
        name = statement.name.value if statement.name else "input"
        span = statement.name.span if statement.name else statement.span
        for other in self.inputs:
            if other.name == name:
                if name == "input":
                    raise SpecError(
                        "a second input needs a name: write `input NAME = image(...)`", span
                    )
                raise SpecError(f"input '{name}' is declared twice", span)
        _check_tensor_name(name, span, allow_input=statement.name is None)
        kind = resolve(statement.call, ir.INPUTS, "input")
        self.inputs.append(ir.InputDecl(name=name, type=kind, span=statement.span))
        scope.tensors[name] = name
        scope.previous = name
        self.made_by[name] = (span, name, ())

    def layers(self, statement: LayerStmt, scope: _Scope) -> None:
        if statement.target is not None:
            _check_tensor_name(statement.target.value, statement.target.span)
        current = self.ref(statement.source, scope) if statement.source else scope.previous
        explicit = statement.source is not None
        var = statement.target.value if statement.target else None
        for index, call in enumerate(statement.calls):
            current = self.call(call, current, scope, var, explicit or index > 0)
        scope.previous = current
        if statement.target is not None:
            scope.tensors[statement.target.value] = current
        self.made_by[current] = (
            statement.span,
            statement.target.value if statement.target else None,
            scope.trace,
        )

    def output(self, statement: OutputStmt, scope: _Scope, last: bool) -> None:
        if scope.trace:
            raise SpecError(
                "a block's output is its last statement: `output` belongs to the model",
                statement.span,
            )
        if not last:
            raise SpecError("`output` must be the model's last statement", statement.span)
        refs: list[str] = []
        for name in statement.names:
            ref = self.ref(name, scope)
            if ref in refs:
                raise SpecError(f"'{name.value}' is listed twice as an output", name.span)
            refs.append(ref)
        self.outputs = tuple(refs)

    def repeat(self, statement: RepeatStmt, scope: _Scope) -> None:
        count = statement.count.value
        if not isinstance(count, int) or not 1 <= count <= MAX_REPEAT:
            raise SpecError(
                f"repeat needs a whole number from 1 to {MAX_REPEAT}, got {statement.count.text}",
                statement.count.span,
                code="limit",
            )
        for _ in range(count):
            self.body(statement.body, scope)

    # --- calls: layers, merges and blocks ---

    def call(
        self, call: Call, source: str | None, scope: _Scope, var: str | None, explicit: bool
    ) -> str:
        call = substitute(call, scope.params)
        if source == POISON:
            raise _Skip()
        if call.name in self.blocks:
            return self.block(call, source, scope, var)
        cls = ir.LAYERS.get(call.name)
        if cls is None:
            raise self.unknown_layer(call, source)
        if issubclass(cls, ir.MergeOp):
            if explicit:
                raise SpecError(
                    f"{call.name} takes its inputs as arguments: write {call.name}(a, b)",
                    call.name_span,
                )
            inputs = self.merge_inputs(call, cls, scope)
            call = replace(call, positional=())
        else:
            if source is None:
                raise _no_input(call)
            inputs = (source,)
        op = resolve(call, ir.LAYERS, "layer")
        scope.counters[call.name] += 1
        name = f"{scope.prefix}{call.name}_{scope.counters[call.name]}"
        if len(self.nodes) >= MAX_NODES:
            raise SpecError(
                f"the model has more than {MAX_NODES:,} layers", call.span, code="limit"
            )
        node = ir.GraphNode(
            name=name,
            op=op,
            inputs=inputs,
            var=var,
            trace=scope.trace,
            block=scope.instance,
            span=call.span,
        )
        self.nodes.append(node)
        return name

    def merge_inputs(self, call: Call, cls: type[ir.MergeOp], scope: _Scope) -> tuple[str, ...]:
        count = len(call.positional)
        if count < cls.min_inputs or (cls.max_inputs is not None and count > cls.max_inputs):
            want = (
                f"exactly {cls.max_inputs}"
                if cls.max_inputs == cls.min_inputs
                else f"at least {cls.min_inputs}"
            )
            raise SpecError(
                f"{call.name} takes {want} tensors, got {count}: write {call.name}(a, b)",
                call.span,
            )
        refs = []
        for value in call.positional:
            if not isinstance(value, Name):
                raise SpecError(f"{call.name} takes tensor names, got {_text(value)}", value.span)
            refs.append(self.ref(value, scope))
        return tuple(refs)

    def block(self, call: Call, source: str | None, scope: _Scope, var: str | None) -> str:
        block = self.blocks[call.name]
        if (
            any(name == block.name for name, _ in scope.trace)
            or len(scope.trace) >= MAX_BLOCK_DEPTH
        ):
            raise SpecError(f"block '{block.name}' uses itself", call.name_span)
        if source is None:
            raise _no_input(call)
        scope.counters[block.name] += 1
        instance = f"{scope.prefix}{block.name}_{scope.counters[block.name]}_"
        inner = _Scope(
            previous=source,
            block_input=source,
            params=bind(block, call),
            prefix=instance,
            trace=(*scope.trace, (block.name, call.span)),
            instance=scope.instance or instance.rstrip("_"),
        )
        try:
            self.body(block.body, inner)
        except SpecError as err:
            raise err.with_note(f"in block '{block.name}' used here", call.span) from None
        result = inner.previous
        assert result is not None
        if var is not None and self.nodes and self.nodes[-1].name == result:
            self.nodes[-1] = self.nodes[-1].model_copy(update={"var": var})
        return result

    # --- tensor names ---

    def ref(self, name: Name, scope: _Scope) -> str:
        if scope.tensors.get(name.value) == POISON:
            raise _Skip()
        if name.value == "input":
            if scope.trace:
                assert scope.block_input is not None
                return scope.block_input
            if "input" in scope.tensors:
                return scope.tensors["input"]
            names = ", ".join(i.name for i in self.inputs) or "none yet"
            raise SpecError(f"this model has no unnamed input: its inputs are {names}", name.span)
        if name.value in scope.tensors:
            return scope.tensors[name.value]
        if name.value in scope.later:  # bound in this body, but not yet: further down
            raise SpecError(
                f"tensor '{name.value}' is used before it is defined (line"
                f" {scope.later[name.value]}): a model's graph cannot have a cycle",
                name.span,
            )
        hint = did_you_mean(name.value, scope.tensors)
        raise SpecError(f"unknown tensor '{name.value}'{hint}", name.span)

    def unknown_layer(self, call: Call, source: str | None) -> SpecError:
        """An unknown layer, with a did-you-mean among the layers that fit the input."""
        from nndsl.infer import fitting_kinds

        candidates = set(self.blocks) | fitting_kinds(self.inputs, self.nodes, source)
        hint = did_you_mean(call.name, candidates)
        known = hint or _unsupported_hint(call.name)
        return SpecError(f"unknown layer '{call.name}'{known}", call.name_span)

    # --- the model ---

    def model(self) -> ir.Model:
        syntax = self.syntax
        scope = _Scope()
        self.body(syntax.body, scope)
        if self.errors:
            raise SpecErrors(self.errors)
        if not self.inputs:
            raise SpecError(
                "a model needs an input, e.g. 'input image(28, 28, 1)'", syntax.model_span
            )
        outputs = self.outputs or ((scope.previous,) if scope.previous else ())
        self.check_all_used(set(outputs))
        return ir.Model(
            name=_model_name(syntax),
            inputs=tuple(self.inputs),
            nodes=tuple(self.nodes),
            outputs=outputs,
            span=syntax.model_span,
        )

    def check_all_used(self, outputs: set[str]) -> None:
        used = {name for node in self.nodes for name in node.inputs} | outputs
        unused = [tensor for tensor in self.made_by if tensor not in used]
        if not unused:
            return
        span, var, trace = self.made_by[unused[0]]
        if any(i.name == unused[0] for i in self.inputs):
            message = f"input '{unused[0]}' is never used"
        elif var is not None:
            message = f"tensor '{var}' is never used"
        else:
            message = "the result of this statement is never used"
        raise with_trace(SpecError(message, span), trace)


def _no_input(call: Call) -> SpecError:
    return SpecError(
        f"a model starts with its input, e.g. 'input image(28, 28, 1)', got '{call.name}'",
        call.name_span,
    )


# names that are kinds of other frameworks' layers nndsl spells differently or not at all
_UNSUPPORTED = {
    "time_distributed": "dense applies to each step of a (steps, features) input by itself",
    "timedistributed": "dense applies to each step of a (steps, features) input by itself",
}


def _unsupported_hint(name: str) -> str:
    reason = _UNSUPPORTED.get(name)
    return f": {reason}" if reason else "; `nndsl check --list-layers` lists the layers"


def _check_tensor_name(name: str, span: Span, allow_input: bool = False) -> None:
    if name in KEYWORDS and not (allow_input and name == "input"):
        raise SpecError(f"'{name}' is a keyword: choose another tensor name", span)
    if name.startswith("_"):
        raise SpecError(f"tensor name '{name}' must not start with '_'", span)
    if len(name) > MAX_NAME:
        raise SpecError(
            f"tensor name is {len(name)} characters long; the limit is {MAX_NAME}", span
        )


def _model_name(syntax: Syntax) -> str:
    name = syntax.model_name
    span = syntax.model_name_span
    lowered = name.lower()
    if (
        keyword.iskeyword(name)
        or keyword.issoftkeyword(name)
        or lowered in ("true", "false", "none")
    ):
        raise SpecError(f"model name '{name}' is a Python keyword; choose another name", span)
    if name.startswith("_"):
        raise SpecError(f"model name '{name}' must not start with '_'", span)
    if len(name) > MAX_NAME:
        raise SpecError(
            f"model name is {len(name)} characters long; the limit is {MAX_NAME}", span
        )
    return name


def build(syntax: Syntax) -> ir.Spec:
    """Type a parsed file into the IR Spec; every independent error is reported together."""
    errors: list[SpecError] = []
    model = train = None
    try:
        model = _Builder(syntax).model()
    except SpecError as err:
        errors += err.errors
    try:
        if syntax.train is not None:
            train = train_section(syntax.train, syntax.train_span)
    except SpecError as err:
        errors += err.errors
    if errors:
        raise SpecErrors(errors[:MAX_ERRORS]) if len(errors) > 1 else errors[0]
    try:
        return ir.Spec(model=model, train=train, span=syntax.span)
    except ValidationError as err:  # pragma: no cover - the builder validated every part
        raise _validation_error(err, ir.Spec, "", {}, syntax.span) from None


def parse(text: str, file: str = "<spec>") -> ir.Spec:
    """Parse and type a spec; raises SpecError with a span on any problem."""
    return build(parse_syntax(text, file))


__all__ = ["Setting", "build", "parse"]
