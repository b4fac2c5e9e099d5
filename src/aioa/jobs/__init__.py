"""Background jobs (report rendering, notifications, MCP probes): on Celery workers when AIOA_CELERY_BROKER_URL names
a Redis or RabbitMQ broker, in the calling process otherwise. `aioa.jobs.run.run_job` is the one entry; a worker is
`celery -A aioa.jobs.worker worker -Q <AIOA_CELERY_QUEUE>` with the same settings (AIOA_HOME or the PostgreSQL
stores) as the processes that submit."""
