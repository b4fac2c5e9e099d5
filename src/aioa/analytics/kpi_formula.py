"""User-defined KPIs: a formula over registered metrics (`spend / sessions`, `100 * error_calls / calls`), parsed
into a whitelisted syntax tree (names of the metrics registry, numbers, + − × ÷ and brackets; nothing else, never
evaluated by Python), and computed from each metric's mart through the tenant scope."""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from aioa.analytics.filters import Filters, where
from aioa.metrics import DIMENSIONS, METRICS

Connection = duckdb.DuckDBPyConnection
MAX_FORMULA_LENGTH = 300
# What a KPI may be broken down by: registry dimensions every fact mart carries (or day).
BREAKDOWNS = ("team", "project", "user", "day")
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: None}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


class FormulaError(ValueError):
    """The formula is not one the KPI syntax allows (the message says what to change)."""


@dataclass(frozen=True)
class Formula:
    text: str
    tree: ast.Expression
    metrics: tuple[str, ...]  # registered metric names it uses, in order of first use


def parse_formula(text: str) -> Formula:
    """The formula's tree, or FormulaError: only metric names of the registry, numbers, `+ - * /`, unary signs and
    brackets are allowed (no calls, attributes, subscripts, comparisons or other names)."""
    text = (text or "").strip()
    if not text:
        raise FormulaError("the formula is empty: write e.g. `spend / sessions`")
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(f"the formula is longer than {MAX_FORMULA_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise FormulaError(f"the formula does not read as arithmetic: {getattr(error, 'msg', error)}") from None
    names: list[ast.Name] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in METRICS:
                raise FormulaError(f"unknown metric {node.id!r}: use one of {', '.join(METRICS)}")
            names.append(node)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise FormulaError(f"only numbers may appear as constants, not {node.value!r}")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _OPERATORS:
                raise FormulaError("only + - * / are allowed between values")
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                raise FormulaError("only a leading + or - is allowed")
        elif not isinstance(node, ast.Expression | ast.Load | ast.operator | ast.unaryop):
            raise FormulaError(f"{type(node).__name__} is not allowed: use metric names, numbers and + - * /")
    if not names:
        raise FormulaError("the formula names no metric: use at least one of the registry's metrics")
    in_order = dict.fromkeys(node.id for node in sorted(names, key=lambda node: node.col_offset))
    return Formula(text, tree, tuple(in_order))


def evaluate(formula: Formula, values: dict):
    """The formula over `values` (metric name → number or pandas Series); a division by zero gives NaN."""

    def walk(node: ast.AST):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.Constant):
            return np.float64(node.value)
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](walk(node.operand))
        left, right = walk(node.left), walk(node.right)
        if isinstance(node.op, ast.Div):
            return _divide(left, right)
        return _OPERATORS[type(node.op)](left, right)

    return walk(formula.tree)


def _divide(left, right):
    with np.errstate(divide="ignore", invalid="ignore"):
        if isinstance(right, pd.Series):
            return left / right.where(right != 0)
        right = np.float64(right) if right is not None and not pd.isna(right) else np.nan
        return left / right if right != 0 else left * np.nan


def kpi_values(
    connection: Connection, formula: Formula, filters: Filters, scope, by: str | None = None
) -> pd.DataFrame:
    """Each metric the formula names and the KPI (`value`) over the selection, one row, or one row per team,
    project, user or day (`by`). Metrics of different marts are read from each mart and joined on the breakdown."""
    if by is not None and by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}: use one of {', '.join(BREAKDOWNS)}")
    key = DIMENSIONS[by].column if by else None
    by_table: dict[str, list[str]] = {}
    for name in formula.metrics:
        by_table.setdefault(METRICS[name].table, []).append(name)
    frames = []
    for table, names in by_table.items():
        clause, params = where(filters, scope, relation=f"marts.{table}")
        measures = ", ".join(f"{METRICS[name].sql()} as {name}" for name in names)
        select_key = f"{key} as key, " if key else ""
        group = " group by 1" if key else ""
        frame = (
            connection.cursor()
            .execute(f"select {select_key}{measures} from marts.{table} {clause}{group}", params)
            .df()
        )
        frames.append(frame.set_index("key") if key else frame)
    joined = frames[0]
    for frame in frames[1:]:
        joined = joined.join(frame, how="outer") if key else pd.concat([joined, frame], axis=1)
    joined = joined.astype("float64")
    if key:
        joined = joined.fillna({name: 0 for name in formula.metrics if not METRICS[name].is_ratio})
    value = evaluate(formula, {name: joined[name] for name in formula.metrics})
    joined["value"] = pd.Series(value, index=joined.index).replace([np.inf, -np.inf], np.nan)
    if key:
        return joined.rename_axis(by).reset_index().sort_values(by).reset_index(drop=True)
    return joined.reset_index(drop=True)
