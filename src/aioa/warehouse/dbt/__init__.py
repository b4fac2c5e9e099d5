"""Running and documenting the dbt project (staging → intermediate → marts) from the shared package."""
