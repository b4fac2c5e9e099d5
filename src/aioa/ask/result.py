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
        }
