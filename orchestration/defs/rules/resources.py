"""The rules domain's settings (AIOA_* variables, or the caller's Settings object through `for_settings`)."""

from orchestration.settings_resource import SettingsResource


class RulesResource(SettingsResource):
    """Where the rules, incidents and webhooks live (the identity store) and which snapshot they read."""
