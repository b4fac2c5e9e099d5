"""Conditions in CEL (the Common Expression Language, through cel-python): safe, typed, never `eval`.

A condition sees the facts of one match (e.g. `value`, `baseline`, `ratio`, `kind`, `group`). Numbers are doubles:
write `3.0 * baseline`, not `3 * baseline` (CEL does not mix int and double in arithmetic). `check` compiles the
expression and runs it on the trigger's example facts when a rule is saved, so unknown names and type errors are
reported then, not at 3 a.m.
"""

from __future__ import annotations

import functools
import math
from datetime import date, datetime

import celpy
from celpy import celtypes


class ConditionError(ValueError):
    pass


@functools.lru_cache(maxsize=1024)
def _program(expression: str):
    environment = celpy.Environment()
    try:
        return environment.program(environment.compile(expression))
    except celpy.CELParseError as error:
        column = getattr(error, "column", None)
        where = f" at character {column}" if column else ""
        raise ConditionError(
            f"condition {expression!r} is not valid CEL{where} (check the operators and quotes)"
        ) from None


def check(expression: str, example: dict) -> None:
    """Raise ConditionError (clear message) unless `expression` parses and gives true/false on `example`."""
    evaluate(expression, example)


def evaluate(expression: str, facts: dict) -> bool:
    program = _program(expression)
    try:
        result = program.evaluate(to_cel(facts))
    except celpy.CELEvalError as error:
        raise ConditionError(_explain(expression, error, facts)) from None
    if isinstance(result, celpy.CELEvalError):
        raise ConditionError(_explain(expression, result, facts))
    if not isinstance(result, celtypes.BoolType):
        raise ConditionError(f"condition {expression!r} must be true or false, not {type(result).__name__}")
    return bool(result)


def to_cel(facts: dict) -> dict:
    """Facts as CEL values: every number a double, dates as ISO text, None as null."""
    return {name: _value(value) for name, value in facts.items()}


def _value(value):
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int | float):
        return celtypes.DoubleType(float(value)) if not math.isnan(value) else None
    if isinstance(value, datetime | date):
        return celtypes.StringType(value.isoformat())
    if isinstance(value, dict):
        return celtypes.MapType({celtypes.StringType(key): _value(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return celtypes.ListType([_value(item) for item in value])
    if value is None:
        return None
    return celtypes.StringType(str(value))


def _explain(expression: str, error, facts: dict) -> str:
    text = str(error.args[0]) if error.args else str(error)
    if "undeclared reference" in text:
        name = text.split("'")[1] if "'" in text else "?"
        return (
            f"condition {expression!r} names {name!r}, which this trigger does not provide; "
            f"it provides: {', '.join(sorted(facts))}"
        )
    if "no matching overload" in text:
        hint = " (numbers are doubles: write 3.0, not 3)" if "IntType" in text else ""
        return f"condition {expression!r}: the types do not fit an operator{hint}"
    return f"condition {expression!r} fails: {text[:200]}"
