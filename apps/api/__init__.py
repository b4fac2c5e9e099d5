"""The REST API (`aioa serve`): reports, KPIs, questions, routing and ingest over HTTP, for signed-in principals."""
