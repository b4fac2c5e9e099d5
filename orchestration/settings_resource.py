"""The base of every resource that needs the `aioa` settings: the home, plus the fields a caller set on its own
Settings object (`for_settings`, used by `aioa run` and the tests); everything else comes from AIOA_* variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Self

from dagster import ConfigurableResource

from aioa.settings import Settings

SECRET_FIELDS = frozenset(name for name, field in Settings.model_fields.items() if "Secret" in str(field.annotation))


class SettingsResource(ConfigurableResource):
    aioa_home: str = ""
    settings_json: str = ""  # fields the caller set (JSON); secrets are never carried here

    @classmethod
    def for_settings(cls, settings: Settings, **fields: Any) -> Self:
        chosen = settings.model_dump(mode="json", include=set(settings.model_fields_set) - SECRET_FIELDS - {"home"})
        return cls(aioa_home=str(settings.home), settings_json=json.dumps(chosen), **fields)

    def settings(self) -> Settings:
        chosen = json.loads(self.settings_json) if self.settings_json else {}
        return Settings(**chosen, **({"home": Path(self.aioa_home)} if self.aioa_home else {}))
