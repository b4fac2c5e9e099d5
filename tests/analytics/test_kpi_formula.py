"""KPI formulas: only registered metric names, numbers, + - * / and brackets parse; anything else is refused
before it reaches anything that runs; values follow the formula, with a division by zero as no value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aioa.analytics.kpi_formula import FormulaError, evaluate, parse_formula

UNSAFE = [
    "__import__('os').system('id')",
    "spend.__class__",
    "spend.real",
    "open('/etc/passwd')",
    "[spend for spend in ()]",
    "spend if calls else 1",
    "lambda: spend",
    "spend ** 1000",
    "spend % 2",
    "spend // 2",
    "spend < calls",
    "spend and calls",
    "spend[0]",
    "'spend'",
    "True * spend",
    "{spend}",
    "spend; calls",
    "spend = 1",
    "f'{spend}'",
    "unknown_metric / calls",
    "Spend / calls",  # names are the registry's, case and all
    "",
    "2 * 3",  # no metric: not a KPI
    "(" * 400 + "spend" + ")" * 400,
    "spend +",
]


@pytest.mark.parametrize("text", UNSAFE)
def test_unsafe_or_unknown_input_is_refused(text):
    with pytest.raises(FormulaError):
        parse_formula(text)


def test_a_formula_names_its_metrics_in_order_of_use():
    formula = parse_formula(" 100 * error_calls / calls + spend - -1 ")
    assert formula.metrics == ("error_calls", "calls", "spend")
    assert formula.text == "100 * error_calls / calls + spend - -1"


def test_values_follow_the_formula_and_zero_divides_to_nothing():
    formula = parse_formula("(spend - savings) / sessions")
    assert evaluate(formula, {"spend": 10.0, "savings": 4.0, "sessions": 3.0}) == pytest.approx(2.0)
    assert np.isnan(evaluate(formula, {"spend": 10.0, "savings": 4.0, "sessions": 0.0}))
    series = evaluate(
        formula,
        {
            "spend": pd.Series([10.0, 6.0, 1.0]),
            "savings": pd.Series([4.0, 0.0, 1.0]),
            "sessions": pd.Series([3.0, 0.0, 2.0]),
        },
    )
    assert series.iloc[0] == pytest.approx(2.0) and np.isnan(series.iloc[1]) and series.iloc[2] == 0.0
    assert evaluate(parse_formula("-calls + +2"), {"calls": 5.0}) == -3.0
