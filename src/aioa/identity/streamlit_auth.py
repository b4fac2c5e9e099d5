"""The app's `st.login` configuration: the `[auth]` section of `.streamlit/secrets.toml` rendered from Settings, so the
app signs in with the same OpenID Connect provider (and client) as the API. Streamlit validates the id token itself;
the app then maps its claims with `aioa.identity.oidc.principal_from_claims`, exactly as the API does."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from aioa.atomic_files import write_text_atomically
from aioa.identity import oidc
from aioa.settings import Settings

DEFAULT_APP_URL = "http://localhost:8501"
# Streamlit only sends a PKCE challenge when discovery advertises S256; many providers support it without saying so.
CLIENT_KWARGS = {"scope": oidc.SCOPES, "code_challenge_method": "S256"}


def auth_section(settings: Settings, *, app_url: str = DEFAULT_APP_URL) -> dict[str, object]:
    """The `[auth]` keys `st.login()` reads (its default provider): redirect_uri, cookie_secret, client_id,
    client_secret, server_metadata_url, client_kwargs."""
    issuer = oidc.configured_issuer(settings)
    if settings.oidc_client_secret is None:
        raise oidc.ProviderUnavailable(
            "the app's sign-in (st.login) needs a confidential client: set AIOA_OIDC_CLIENT_SECRET"
        )
    return {
        "redirect_uri": f"{app_url.rstrip('/')}/oauth2callback",  # the path Streamlit serves its callback on
        "cookie_secret": oidc.derived_secret(settings, "streamlit-cookie"),
        "client_id": settings.oidc_client_id,
        "client_secret": settings.oidc_client_secret.get_secret_value(),
        "server_metadata_url": f"{issuer.rstrip('/')}/.well-known/openid-configuration",
        "client_kwargs": dict(CLIENT_KWARGS),
    }


def render_auth_secrets(settings: Settings, *, app_url: str = DEFAULT_APP_URL) -> str:
    """The `[auth]` section as TOML text."""
    lines = ["# Written by aioa from AIOA_OIDC_* settings (aioa.identity.streamlit_auth); holds secrets.", "[auth]"]
    for key, value in auth_section(settings, app_url=app_url).items():
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def write_auth_secrets(settings: Settings, streamlit_dir: Path, *, app_url: str = DEFAULT_APP_URL) -> Path:
    """Write `<streamlit_dir>/secrets.toml` (readable by its owner only). A file holding other secrets is left alone:
    add the section by hand then (`render_auth_secrets`)."""
    path = Path(streamlit_dir) / "secrets.toml"
    if path.exists():
        others = sorted(set(tomllib.loads(path.read_text(encoding="utf-8"))) - {"auth"})
        if others:
            raise FileExistsError(f"{path} holds other secrets ({', '.join(others)}); add the [auth] section by hand")
    return write_text_atomically(path, render_auth_secrets(settings, app_url=app_url), private=True)


def _toml_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + " }"
    # A JSON string without ASCII escaping is a valid TOML basic string (same escapes, no surrogate pairs).
    return json.dumps(str(value), ensure_ascii=False)
