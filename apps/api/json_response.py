"""The API's JSON response: orjson-encoded (about 10x faster than the standard encoder on report-sized answers).
FastAPI's own `ORJSONResponse` is deprecated and warns on every response it builds."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
