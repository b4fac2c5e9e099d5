"""The dashboard's server: Streamlit (`streamlit_app.py`) plus the routes that sign local accounts in and out with an
HttpOnly cookie (`auth_routes.py`). Serve it with `streamlit run apps/dashboard/asgi.py` (`make app`); Streamlit finds
`app` here and runs it with uvicorn, taking the usual `--server.*` options."""

import streamlit as st
from auth_routes import ROUTES, CsrfCookieMiddleware
from starlette.middleware import Middleware

app = st.App("streamlit_app.py", routes=ROUTES, middleware=[Middleware(CsrfCookieMiddleware)])
