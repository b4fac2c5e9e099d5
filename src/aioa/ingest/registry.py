"""The one list of log sources: name, reader, settings key, default locations and CLI name.

The CLI's `aioa ingest <cli-name>` commands, the Dagster ingest assets, the new-files sensor and `aioa run` all
read this list, so adding a source is one entry here (and its reader). Readers are imported on use: `aioa --help`
does not pay for pyarrow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aioa.ingest.sources import Source
    from aioa.settings import Settings


def _no_default() -> list[Path]:
    return []


def _claude_config_dirs() -> list[Path]:
    from aioa.settings import claude_config_dirs

    return claude_config_dirs()


@dataclass(frozen=True)
class LogSource:
    name: str  # also the pipeline step ("ingest <name>") and the SourcePaths field
    cli_name: str  # `aioa ingest <cli_name>`
    settings_key: str  # the Settings field (AIOA_<KEY>) holding comma-separated paths
    reader: str  # "module:Class" of the aioa.ingest.sources.Source subclass
    asset_name: str  # the Dagster asset that ingests it
    description: str
    default_paths: Callable[[], list[Path]] = _no_default  # used when nothing is configured

    def source(self) -> Source:
        module, _, cls = self.reader.partition(":")
        return getattr(import_module(module), cls)()

    def reader_class(self) -> type[Source]:
        module, _, cls = self.reader.partition(":")
        return getattr(import_module(module), cls)

    def configured_paths(self, settings: Settings, *, defaults: bool = True) -> list[Path]:
        """The paths the settings name for this source, else (with `defaults`) its default locations; and the API's
        inbox folders of this source (`<home>/inbox/<org_id>/<name>/`, each bound to its org by the attribution)."""
        configured = split_paths(getattr(settings, self.settings_key)) or (self.default_paths() if defaults else [])
        return configured + inbox_paths(settings, self.name)


SOURCES: tuple[LogSource, ...] = (
    LogSource(
        "claude_code",
        "claude-code",
        "claude_code_dirs",
        "aioa.ingest.claude_code:ClaudeCodeSource",
        "claude_code_logs",
        "Claude Code transcripts (all config dirs, subagent files included) → raw.llm_calls, raw.tool_calls.",
        _claude_config_dirs,
    ),
    LogSource(
        "handoffs",
        "handoffs",
        "handoff_paths",
        "aioa.ingest.handoffs:HandoffLogSource",
        "handoff_logs",
        "Handoff event logs (aioa.handoff/1 and the first version's tracking log) → raw.handoffs.",
    ),
    LogSource(
        "otel",
        "otel",
        "otel_paths",
        "aioa.ingest.otel:OtelSource",
        "otel_exports",
        "OTLP/JSON GenAI spans and Claude Code OTel events → raw.llm_calls, raw.tool_calls.",
    ),
    LogSource(
        "routing_outcomes",
        "routing-outcomes",
        "routing_outcome_paths",
        "aioa.ingest.routing_outcomes:RoutingOutcomesSource",
        "routing_outcome_logs",
        "Routing-outcome datasets (RouteLLM format: prompt, one correctness column per model) → raw.handoffs.",
    ),
)
BY_NAME = {source.name: source for source in SOURCES}


class MissingPathError(FileNotFoundError):
    """A configured path does not exist: the run fails with the paths (a source is never skipped silently)."""

    def __init__(self, source: str, missing: list[Path]) -> None:
        self.source = source
        self.missing = [str(path) for path in missing]
        super().__init__(
            f"{source}: configured path not found: {', '.join(self.missing)} "
            "(check the path, or the AIOA_* path settings)"
        )


def check_paths_exist(source: str, paths: list[Path]) -> None:
    """The one "path not found" check: raises MissingPathError naming every missing path."""
    missing = [path for path in paths if not path.exists()]
    if missing:
        raise MissingPathError(source, missing)


def inbox_paths(settings: Settings, source: str) -> list[Path]:
    """`<home>/inbox/<org_id>/<source>/` folders the API wrote (`apps/api/inbox.py`)."""
    return sorted(path for path in (settings.home / "inbox").glob(f"*/{source}") if path.is_dir())


def split_paths(value: str) -> list[Path]:
    return [Path(part.strip()).expanduser() for part in value.split(",") if part.strip()]
