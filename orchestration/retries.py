"""Self-healing: the retry policy of steps whose failures are often passing (files still being written, a locked
SQLite store, a busy MLflow registry). A step retries twice, after about 10 s and 20 s (exponential, with jitter);
when it still fails, the run fails and the rules trigger `pipeline_step_failing` raises an incident once the same
step has failed in several runs in a row. dbt builds and quality checks are not retried: a failed data test is a
verdict, not a glitch."""

from dagster import Backoff, Jitter, RetryPolicy

STEP_RETRY = RetryPolicy(max_retries=2, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
