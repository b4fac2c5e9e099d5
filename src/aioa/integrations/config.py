"""Where the external services are and the credentials to call them (environment variables prefixed `AIOA_`, or
`.env`); a service without its URL or token is simply not called."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntegrationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIOA_", env_file=".env", extra="ignore")

    github_api_url: str = Field(default="https://api.github.com", description="GitHub REST API (Enterprise: …/api/v3).")
    github_token: SecretStr | None = Field(default=None, description="Token for pull-request metadata and issues.")
    jira_url: str | None = Field(default=None, description="Jira site, e.g. https://example.atlassian.net.")
    jira_email: str | None = Field(default=None, description="Account email for Jira's basic auth with a token.")
    jira_token: SecretStr | None = None
    linear_api_url: str = Field(default="https://api.linear.app/graphql", description="Linear's GraphQL endpoint.")
    linear_token: SecretStr | None = Field(default=None, description="Linear API key.")
    slack_signing_secret: SecretStr | None = Field(default=None, description="Slack app's signing secret.")
    teams_webhook_secret: SecretStr | None = Field(
        default=None, description="Teams outgoing webhook's security token (base64, as Teams shows it)."
    )
    integrations_store_url: str | None = Field(
        default=None, description="Chat links store (SQLAlchemy URL); default: SQLite at <home>/integrations.db."
    )
    integration_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of one call to an external API.")
    integration_attempts: int = Field(default=4, ge=1, le=10, description="Attempts per call (retries + 1).")
    integration_backoff_s: float = Field(default=0.5, ge=0, description="First retry delay; doubles each retry.")

    @property
    def github_configured(self) -> bool:
        return self.github_token is not None

    @property
    def jira_configured(self) -> bool:
        return bool(self.jira_url and self.jira_email and self.jira_token)

    @property
    def linear_configured(self) -> bool:
        return self.linear_token is not None
