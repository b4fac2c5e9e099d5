"""The `[auth]` secrets for the app's `st.login`: Streamlit parses and accepts what we write, and the Authlib client it
builds from them signs in at our provider (PKCE S256) with claims that map like the API's."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from aioa.identity import oidc
from aioa.identity.streamlit_auth import render_auth_secrets, write_auth_secrets
from aioa.settings import Settings
from tests.identity.test_oidc import CLIENT_ID, MockProvider, provider  # noqa: F401 - `provider` is a fixture

streamlit_config = pytest.importorskip("streamlit.config")
APP_URL = "http://127.0.0.1:8501"


@pytest.fixture
def sso(settings: Settings, provider: MockProvider) -> Settings:  # noqa: F811 - the imported fixture
    oidc.clear_caches()
    return settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": SecretStr('se"cret\\with-quotes'),
        }
    )


@pytest.fixture
def streamlit_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[callable]:
    """Point Streamlit's secrets at one file, as `streamlit run` does with `.streamlit/secrets.toml`."""
    import streamlit.auth_util as auth_util
    from streamlit.runtime.secrets import Secrets

    before = streamlit_config.get_option("secrets.files")

    def use(path: Path) -> None:
        streamlit_config.set_option("secrets.files", [str(path)])
        monkeypatch.setattr(auth_util, "secrets_singleton", Secrets())

    try:
        yield use
    finally:
        streamlit_config.set_option("secrets.files", before)


def test_streamlit_accepts_the_written_auth_section(sso: Settings, tmp_path: Path, streamlit_reads) -> None:
    from streamlit.auth_util import (
        get_secrets_auth_section,
        get_signing_secret,
        get_validated_redirect_uri,
        validate_auth_credentials,
    )

    path = write_auth_secrets(sso, tmp_path / ".streamlit", app_url=APP_URL + "/")
    streamlit_reads(path)

    validate_auth_credentials("default")  # raises StreamlitAuthError on anything st.login would refuse
    section = get_secrets_auth_section()
    assert get_validated_redirect_uri() == "http://127.0.0.1:8501/oauth2callback"
    assert get_signing_secret() == oidc.derived_secret(sso, "streamlit-cookie")
    assert len(get_signing_secret()) >= 32 and get_signing_secret() != oidc.session_secret(sso)
    assert section["client_id"] == CLIENT_ID
    assert section["client_secret"] == 'se"cret\\with-quotes'
    assert section["server_metadata_url"] == f"{sso.oidc_issuer}/.well-known/openid-configuration"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8") == render_auth_secrets(sso, app_url=APP_URL)


def test_streamlit_client_signs_in_at_our_provider_with_pkce(
    sso: Settings,
    tmp_path: Path,
    streamlit_reads,
    provider: MockProvider,  # noqa: F811 - the imported fixture
) -> None:
    # Streamlit's own factory for the client behind st.login (internal, so this test follows Streamlit upgrades).
    from streamlit.web.server.starlette.starlette_auth_routes import _create_oauth_client

    streamlit_reads(write_auth_secrets(sso, tmp_path / ".streamlit", app_url=APP_URL))
    provider.set_user("st-sub", {"email": "st@acme.example", "org": "acme", "team": "web", "role": "viewer"})
    client, redirect_uri = _create_oauth_client("default")

    async def sign_in() -> dict:
        await client.load_server_metadata()
        request = await client.create_authorization_url(redirect_uri)
        query = parse_qs(urlsplit(request["url"]).query)
        assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [CLIENT_ID]
        params = provider.authorize(request["url"], "st-sub")
        assert params["state"] == request["state"]
        token = await client.fetch_access_token(
            code=params["code"], code_verifier=request["code_verifier"], redirect_uri=redirect_uri
        )
        return dict(await client.parse_id_token(token, nonce=request["nonce"]))

    claims = asyncio.run(sign_in())  # what st.user holds after st.login

    identity = oidc.identity_from_claims(sso, claims)
    assert (identity.subject, identity.org_id, identity.team_id, identity.role) == ("st-sub", "acme", "web", "viewer")


def test_a_secrets_file_with_other_secrets_is_left_alone(sso: Settings, tmp_path: Path) -> None:
    path = tmp_path / ".streamlit" / "secrets.toml"
    path.parent.mkdir()
    path.write_text('[connections.warehouse]\nurl = "postgresql://x"\n', encoding="utf-8")

    with pytest.raises(FileExistsError, match="connections"):
        write_auth_secrets(sso, path.parent)
    assert "postgresql://x" in path.read_text(encoding="utf-8")


def test_st_login_needs_a_client_secret(sso: Settings) -> None:
    with pytest.raises(oidc.ProviderUnavailable, match="AIOA_OIDC_CLIENT_SECRET"):
        render_auth_secrets(sso.model_copy(update={"oidc_client_secret": None}))
