"""Attribution: map users, machines, config dirs and cwd patterns to org, team, user and project."""

from aioa.attribution.apply import attribute_rows, sync_entities
from aioa.attribution.config import AttributionConfig, load_attribution

__all__ = ["AttributionConfig", "attribute_rows", "load_attribution", "sync_entities"]
