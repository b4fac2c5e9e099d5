"""The ingest contracts as pydantic models, derived from the contracts the readers check: a handoff is an
`aioa.handoff/1` line (`aioa.ingest.handoffs.V1_FIELDS`), a usage event is a billed model call (`aioa.contracts.LLM_CALL`
columns a client can know). The API refuses what the pipeline would quarantine, naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, create_model

from aioa.contracts import HANDOFF, LLM_CALL
from aioa.ingest.handoffs import SCHEMA_V1, V1_FIELDS


def _iso_timestamp(value: str) -> str:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"not an ISO 8601 timestamp: {value[:60]!r}") from error
    return value  # stored as sent: the reader parses it again


IsoTimestamp = Annotated[StrictStr, AfterValidator(_iso_timestamp)]
Count = Annotated[StrictInt, Field(ge=0)]

# JSON kind of the handoff contract -> pydantic type (strict: the reader checks JSON types, not coercions)
HANDOFF_KINDS: dict[str, Any] = {
    "string": StrictStr,
    "timestamp": IsoTimestamp,
    "boolean": StrictBool,
    "count": Count,
    "money": Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)],
    "probability": Annotated[float, Field(strict=True, ge=0, le=1, allow_inf_nan=False)],
    "array": list[Any],
}
_STRICT = ConfigDict(extra="forbid")


def _description(contract, name: str) -> str | None:
    by_name = {column.name: column.description for column in contract.columns}
    return by_name.get(name) or by_name.get(f"{name}_utc")


def _handoff_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, kind in V1_FIELDS.items():
        if name == "schema":  # `schema` would shadow BaseModel.schema: an alias
            fields["schema_"] = (
                Literal[SCHEMA_V1],
                Field(SCHEMA_V1, alias="schema", description="Contract version (filled in if absent)."),
            )
            continue
        required = kind.endswith("!")
        field_type = HANDOFF_KINDS[kind.rstrip("!")]
        description = _description(HANDOFF, name)
        fields[name] = (
            (field_type, Field(description=description))
            if required
            else (
                field_type | None,
                Field(None, description=description),
            )
        )
    return fields


HandoffEvent = create_model(
    "HandoffEvent",
    __config__=_STRICT,
    __doc__=f"One handoff, as a line of the `{SCHEMA_V1}` log contract.",
    **_handoff_fields(),
)

# Usage events: the columns of LLM_CALL a client knows (keys, prices and lineage are the pipeline's). They are
# stored as OTLP/JSON GenAI spans (`inbox.usage_event_span`), which the OTel reader loads.
USAGE_EVENT_COLUMNS = (
    "session_id",
    "message_id",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_read_tokens",
    "latency_ms",
    "user_id",
    "project_id",
    "org_id",
    "error",
)
_DEFAULT_ZERO = frozenset({"cache_write_5m_tokens", "cache_read_tokens"})
_SQL_TYPES: dict[str, Any] = {"VARCHAR": StrictStr, "BIGINT": Count}


def _usage_fields() -> dict[str, Any]:
    columns = {column.name: column for column in LLM_CALL.columns}
    fields: dict[str, Any] = {
        "event_id": (StrictStr, Field(min_length=1, description="Unique id of the event (idempotency key).")),
        "ts": (IsoTimestamp, Field(description=columns["ts_utc"].description)),
        "status": (Literal["ok", "error"], Field("ok", description=columns["status"].description)),
    }
    for name in USAGE_EVENT_COLUMNS:
        column = columns[name]
        field_type = _SQL_TYPES[column.sql_type]
        if name in _DEFAULT_ZERO:
            fields[name] = (field_type, Field(0, description=column.description))
        elif column.nullable or name == "org_id":  # org_id: the principal's org; if sent, it must be that one
            fields[name] = (field_type | None, Field(None, description=column.description))
        else:
            fields[name] = (field_type, Field(description=column.description))
    return fields


UsageEvent = create_model(
    "UsageEvent",
    __config__=_STRICT,
    __doc__="One billed model response (a row of raw.llm_calls once the pipeline has priced and attributed it).",
    **_usage_fields(),
)


class IngestResult(BaseModel):
    accepted: int = Field(description="New events written to the org's inbox (ingested by the next pipeline run).")
    duplicates: list[str] = Field(description="Ids accepted before (nothing written for them).")
    file: str | None = Field(None, description="Inbox file the accepted events were written to.")


class IngestProblem(BaseModel):
    index: int | None = Field(description="0-based position of the event in the batch (None: the whole body).")
    field: str | None = Field(description="Field at fault, dotted (e.g. `alternatives.0`).")
    message: str


class IngestRejected(BaseModel):
    detail: list[IngestProblem]
    quarantined: str = Field(description="Quarantine spool file holding the whole refused batch.")
