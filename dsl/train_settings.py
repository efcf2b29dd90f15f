"""The train section: each setting typed by its own rule, then validated as ir.Train."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from nndsl import ir
from nndsl.calls import _text, _validation_error, resolve
from nndsl.errors import Span, SpecError, SpecErrors, did_you_mean
from nndsl.syntax_tree import Items, Literal, Name, Setting


def _int_setting(setting: Setting) -> int:
    value = setting.value
    if not (isinstance(value, Literal) and type(value.value) is int):
        raise SpecError(f"{setting.name} must be a whole number, got {_text(value)}", value.span)
    if value.value < 0:
        raise SpecError(f"{setting.name} must not be negative, got {value.text}", value.span)
    return value.value


def _metrics(setting: Setting) -> tuple[str, ...]:
    value = setting.value
    if not (isinstance(value, Items) and value.brackets == "[]"):
        raise SpecError(
            f"metrics must be a list such as [accuracy], got {_text(value)}", value.span
        )
    names = []
    for item in value.items:
        if not isinstance(item, Name) or item.value not in ir.METRICS:
            text = _text(item)
            hint = did_you_mean(text, ir.METRICS) or f"; choose from {', '.join(ir.METRICS)}"
            raise SpecError(f"unknown metric '{text}'{hint}", item.span)
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


def _setting(setting: Setting, seen: dict[str, Setting]) -> Any:
    handler = SETTINGS.get(setting.name)
    if handler is None:
        hint = did_you_mean(setting.name, SETTINGS) or f"; choose from {', '.join(SETTINGS)}"
        raise SpecError(f"unknown train setting '{setting.name}'{hint}", setting.span)
    if setting.name in seen:
        first = seen[setting.name].span.line
        raise SpecError(f"'{setting.name}' is set twice (first on line {first})", setting.span)
    return handler(setting)


def train_section(settings: tuple[Setting, ...], span: Span) -> ir.Train:
    """The typed train section; every setting's error is reported (SpecErrors)."""
    data: dict[str, Any] = {}
    seen: dict[str, Setting] = {}
    errors: list[SpecError] = []
    for setting in settings:
        try:
            data[setting.name] = _setting(setting, seen)
        except SpecError as err:
            errors.append(err)
        seen.setdefault(setting.name, setting)
    if errors:
        raise SpecErrors(errors) if len(errors) > 1 else errors[0]
    for name in REQUIRED_SETTINGS:
        if name not in data:
            example = SETTING_EXAMPLES[name]
            raise SpecError(f"train needs a '{name}' setting, e.g. '{example}'", span)
    try:
        return ir.Train.model_validate({**data, "span": span})
    except ValidationError as err:
        written = {name: setting.value for name, setting in seen.items()}
        raise _validation_error(err, ir.Train, "", written, span) from None
