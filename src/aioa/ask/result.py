"""What a question returns: the answer, the rows, a suggested chart and the SQL, or the reason it was refused."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class ChartSpec:
    kind: str  # bar or line
    x: str
    y: str
    color: str | None = None

    def figure(self, rows: pd.DataFrame):
        import plotly.express as px

        draw = px.line if self.kind == "line" else px.bar
        return draw(rows, x=self.x, y=self.y, color=self.color)


@dataclass
class AskResult:
    question: str
    sql: str | None = None
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    answer: str | None = None
    chart: ChartSpec | None = None
    refused: bool = False
    answered: bool = False
    reason: str | None = None
    path: str = "offline"
    understood: str | None = None  # what was answered, in words: metric, window, filters, grouping
    parameters: dict = field(default_factory=dict)  # the values bound to the SQL's $names

    def parameter_words(self) -> dict[str, str]:
        """The bound values as text (dates as YYYY-MM-DD), shown beside the SQL."""
        return {name: _text(value) for name, value in self.parameters.items()}

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answered": self.answered,
            "refused": self.refused,
            "reason": self.reason,
            "answer": self.answer,
            "sql": self.sql,
            "path": self.path,
            "rows": self.rows.to_dict(orient="records"),
            "chart": None if self.chart is None else self.chart.__dict__,
            "understood": self.understood,
            "parameters": self.parameter_words(),
        }


def _text(value) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
