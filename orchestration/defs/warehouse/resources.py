"""Which warehouse the pipeline builds: configured from settings / environment (AIOA_HOME, AIOA_WAREHOUSE, …)."""

from pathlib import Path

from dagster import ConfigurableResource

from aioa.settings import Settings


class WarehouseResource(ConfigurableResource):
    """Empty fields fall back to the `aioa` settings (environment variables prefixed AIOA_)."""

    aioa_home: str = ""

    def settings(self) -> Settings:
        return Settings(home=Path(self.aioa_home)) if self.aioa_home else Settings()
