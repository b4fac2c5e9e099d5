"""`POST /v1/ask`: a question in plain English → guarded SQL over the caller's rows → answer, rows and the SQL."""

from __future__ import annotations

from typing import Any

from apps.api.deps import ReaderDep, ScopeDep, SettingsDep, note, require
from apps.api.schemas import records
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from aioa.ask import ask

router = APIRouter(prefix="/v1", tags=["ask"])


class Question(BaseModel):
    """Only the question: the rows it may read come from the caller's credentials (any other field is refused)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description="e.g. 'spend by project last month'.")


class Answer(BaseModel):
    question: str
    answered: bool
    refused: bool
    reason: str | None
    answer: str | None
    sql: str | None
    path: str
    rows: list[dict[str, Any]]
    chart: dict | None
    understood: str | None = Field(None, description="What was answered, in words: metric, window, filters.")
    parameters: dict[str, str] = Field(default_factory=dict, description="Values bound to the SQL's $names.")


@router.post("/ask", dependencies=[require("ask:run")], summary="Answer a question from the caller's data")
def ask_question(body: Question, request: Request, settings: SettingsDep, scope: ScopeDep, reader: ReaderDep) -> Answer:
    result = ask(body.question, scope, connection=reader, settings=settings)
    rows = records(result.rows) if result.answered else []
    note(request, rows=len(rows), question=body.question[:2000], sql=result.sql, answered=result.answered)
    return Answer(**{name: value for name, value in result.to_dict().items() if name != "rows"} | {"rows": rows})
