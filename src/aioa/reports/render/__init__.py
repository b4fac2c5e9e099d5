"""Report files: templates (sections of registry metrics over filters) built from the tenant-scoped queries and
rendered to HTML, PDF, Excel, CSV, JSON or Parquet; saved per team, sent by email or webhook."""
