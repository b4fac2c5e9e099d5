"""Running an ingest: plan changed files, read them in batches, stage, attribute, price, merge; one transaction each."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from aioa.archive.run import archived_files_for_stage
from aioa.archive.store import settings_read_options
from aioa.attribution import attribute_rows, load_attribution, sync_entities
from aioa.attribution.config import with_inbox_bindings
from aioa.contracts import CONTRACT_VERSION
from aioa.ingest.columns import bool_column, int_column, string_column
from aioa.ingest.lines import FileSlice, LineLimits, read_new_lines
from aioa.ingest.manifest import FilePlan, plan_files, record_files
from aioa.ingest.merge import apply_tool_results, merge_staged
from aioa.ingest.quarantine import store_quarantine
from aioa.ingest.sources import Source, read_sql
from aioa.ingest.stored_text import limit_staged_text, set_store_text
from aioa.ops.tracing import traced
from aioa.pricing import PriceCatalog, apply_prices
from aioa.pricing.model_prices import refresh_model_prices
from aioa.pricing.reprice import reprice_tenant_prices, reprice_unpriced
from aioa.settings import Settings, get_settings
from aioa.tenants.settings_doc import stored_price_overrides, with_tenant_attribution, with_tenant_budgets
from aioa.warehouse import connect
from aioa.warehouse.snapshots import publish_snapshot
from aioa.warehouse.sql import execute_script

# Called with no arguments after a batch is staged and merged, just before its commit: the crash-safety test
# kills the process here. Empty in production.
BEFORE_COMMIT_HOOKS: list[Callable[[], None]] = []

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)

# A run with less than this to read (a grown tree: a new session or two) uses one DuckDB thread: its statements touch
# a few hundred rows, where a second thread only adds scheduling, and its checkpoint costs half the CPU on one.
ONE_THREAD_BELOW_BYTES = 4_000_000


@dataclass
class IngestSummary:
    run_id: str
    source: str
    files_seen: int = 0
    files_read: int = 0
    bytes_read: int = 0
    lines_read: int = 0
    rows_added: dict[str, int] = field(default_factory=dict)
    rows_updated: dict[str, int] = field(default_factory=dict)
    duplicates_skipped: int = 0
    quarantined: int = 0
    flagged: int = 0
    unpriced: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    snapshot_version: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def ingest(
    source: Source,
    paths: list[Path],
    settings: Settings | None = None,
    *,
    on_progress: ProgressCallback | None = None,
    publish: bool = True,
) -> IngestSummary:
    """Load new and grown files of `source`; `publish=False` leaves publishing to the pipeline (after dbt)."""
    settings = settings or get_settings()
    started = time.perf_counter()
    summary = IngestSummary(run_id=_new_run_id(), source=source.name)
    connection = connect(settings)
    threads_before: int | None = None
    try:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute("set variable ingest_run_id = ?", [summary.run_id])
        connection.execute("set variable contract_version = ?", [CONTRACT_VERSION])
        connection.execute("set variable max_json_depth = ?", [settings.max_json_depth])
        set_store_text(connection, settings.store_text)
        execute_script(connection, read_sql("macros.sql"))
        # budgets set in the tenant settings (identity store) win over the YAML's: sync_entities writes raw.orgs
        config = load_attribution(settings.resolved_attribution_file, settings.default_org)
        config = with_tenant_budgets(settings, config)
        config = with_tenant_attribution(settings, config)  # orgs' own rules, only in files bound to them
        config = with_inbox_bindings(config, settings.home / "inbox")  # the API's per-org inbox folders
        # orgs' own price lists (tenant settings) cost their rows before the shared prices do
        catalog = PriceCatalog(settings.resolved_price_overrides_file, stored_price_overrides(settings))
        _start_run(connection, summary)
        connection.begin()
        sync_entities(connection, config)
        reprice_unpriced(connection, catalog)
        reprice_tenant_prices(connection, catalog)
        connection.commit()

        discovered = {found.location: found for found in source.discover(paths)}
        summary.files_seen = len(discovered)
        stats = {location: found.stat for location, found in discovered.items() if found.stat}
        plans = plan_files(connection, source.name, list(discovered), stats)
        if source.whole_files:
            plans = [FilePlan(p.path, p.size_bytes, p.mtime_ns, 0, 0, p.state) for p in plans]
        reasons: Counter[str] = Counter()
        skipped = [(plan, discovered[str(plan.path)].skip_reason) for plan in plans]
        skipped = [(plan, reason) for plan, reason in skipped if reason]
        _quarantine_files(connection, source, skipped, summary, reasons)
        plans = [plan for plan in plans if not discovered[str(plan.path)].skip_reason]
        limits = LineLimits(settings.max_line_bytes, settings.max_json_depth, json_lines=not source.whole_files)
        total_bytes = sum(plan.size_bytes - plan.start_byte for plan in plans)
        if total_bytes < ONE_THREAD_BELOW_BYTES and not settings.duckdb_threads:
            threads_before = _duckdb_threads(connection)
            connection.execute("set threads = 1")
        done_bytes = 0
        batches = list(_batches(plans, settings.batch_bytes, settings.batch_files))
        with contextlib.closing(_read_ahead(batches, limits)) as read_batches:
            for batch, slices, unreadable in read_batches:
                _quarantine_files(connection, source, unreadable, summary, reasons)
                readable = [plan for plan in batch if plan not in {failed for failed, _ in unreadable}]
                context = (discovered, config, catalog, settings)
                _load_or_quarantine(connection, source, readable, slices, context, summary, reasons)
                done_bytes += sum(plan.size_bytes - plan.start_byte for plan in batch)
                if on_progress:
                    on_progress(done_bytes, total_bytes)
        refresh_model_prices(connection, catalog)
        summary.quarantine_reasons = dict(reasons.most_common(20))
        summary.seconds = round(time.perf_counter() - started, 3)
        _finish_run(connection, summary, "ok")
        connection.execute("checkpoint")
        _restore_threads(connection, threads_before)
        threads_before = None
        connection.close()
        if publish:
            summary.snapshot_version = publish_snapshot(settings)
        return summary
    except BaseException as error:
        _rollback_quietly(connection)
        summary.seconds = round(time.perf_counter() - started, 3)
        _finish_run(connection, summary, "failed", repr(error)[:500])
        raise
    finally:
        _restore_threads(connection, threads_before)
        connection.close()


def _read_batch(batch: list[FilePlan], limits: LineLimits) -> tuple[list[FileSlice], list[tuple[FilePlan, str]]]:
    """The new lines of each file of the batch, and the files that could not be read (with why)."""
    slices, unreadable = [], []
    for plan in batch:
        try:
            slices.append(read_new_lines(plan.path, plan.start_byte, plan.start_line, limits=limits))
        except Exception as error:  # whatever goes wrong reading one file is that file's problem
            unreadable.append((plan, _failure("file could not be read", error)))
    return slices, unreadable


def _read_ahead(batches: list[list[FilePlan]], limits: LineLimits):
    """Yield (batch, slices, unreadable) in order, reading the next batch in a thread while the caller loads this
    one: DuckDB releases the GIL while it stages, so reading (file I/O, numpy, SHA-256) uses the other core.
    At most two batches are held at once. Close the generator to stop (the read in flight finishes first)."""
    if not batches:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aioa-ingest-read") as pool:
        pending = pool.submit(_read_batch, batches[0], limits)
        try:
            for index, batch in enumerate(batches):
                slices, unreadable = pending.result()
                pending = pool.submit(_read_batch, batches[index + 1], limits) if index + 1 < len(batches) else None
                yield batch, slices, unreadable
        finally:
            if pending is not None:
                pending.cancel()


def _load_or_quarantine(connection, source, batch, slices, context, summary, reasons) -> None:
    """Load a batch in one transaction (set-based, the usual case); if it fails (a hostile file, or a batch larger
    than DuckDB's memory limit), load each half of it the same way, so one bad file costs about 2 log2(n) smaller
    loads instead of n, and quarantine a file that fails alone."""
    if not batch:
        return
    counts, batch_reasons = IngestSummary(summary.run_id, summary.source), Counter()
    try:
        _load_batch(connection, source, batch, slices, *context, counts, batch_reasons)
    except Exception as error:
        if isinstance(error, _NOT_A_FILE_PROBLEM):
            raise
        if len(batch) > 1:
            middle = len(batch) // 2
            _load_or_quarantine(connection, source, batch[:middle], slices[:middle], context, summary, reasons)
            _load_or_quarantine(connection, source, batch[middle:], slices[middle:], context, summary, reasons)
        else:
            _quarantine_files(
                connection, source, [(batch[0], _failure("file could not be loaded", error))], summary, reasons
            )
        return
    _add_counts(summary, counts)
    reasons.update(batch_reasons)


# Errors of the code or of the database, not of a file: retrying file by file would only hide them.
_NOT_A_FILE_PROBLEM = (
    duckdb.CatalogException,
    duckdb.BinderException,
    duckdb.ParserException,
    duckdb.FatalException,
    duckdb.InternalException,
    duckdb.InterruptException,
    NameError,
    ImportError,
)


def _quarantine_files(connection, source, failures: list[tuple[FilePlan, str]], summary, reasons) -> None:
    """Quarantine whole files (skipped, unreadable or failing alone) and record them in the manifest as read up to
    where they were, so they are not retried until they change."""
    if not failures:
        return
    failed = pa.Table.from_arrays(
        [
            string_column([str(plan.path) for plan, _ in failures]),
            int_column([plan.start_line for plan, _ in failures]),
            string_column([reason for _, reason in failures]),
        ],
        names=["path", "start_line", "reason"],
    )
    connection.register("failed_files", failed)
    connection.begin()
    try:
        connection.execute(
            "delete from raw.quarantine as q using failed_files as f "
            "where q.source_system = ? and q.source_file = f.path and q.source_line > f.start_line",
            [source.name],
        )
        connection.execute(
            "insert into raw.quarantine (ingest_run_id, source_system, source_file, source_line, severity, reason,"
            " raw_excerpt) select getvariable('ingest_run_id'), ?, path, start_line + 1, 'rejected', reason, null"
            " from failed_files",
            [source.name],
        )
        record_files(
            connection,
            source.name,
            [
                (str(plan.path), plan.size_bytes, plan.mtime_ns, plan.start_byte, plan.start_line, plan.prefix_sha256)
                for plan, _ in failures
            ],
            summary.run_id,
        )
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.unregister("failed_files")
    summary.quarantined += len(failures)
    reasons.update(_reason_family(reason) for _, reason in failures)


def _failure(what: str, error: BaseException) -> str:
    message = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
    return f"{what}: {type(error).__name__}" + (f": {message}" if message else "")


def _add_counts(summary: IngestSummary, batch: IngestSummary) -> None:
    for name in ("files_read", "bytes_read", "lines_read", "duplicates_skipped", "quarantined", "flagged", "unpriced"):
        setattr(summary, name, getattr(summary, name) + getattr(batch, name))
    for total, added in ((summary.rows_added, batch.rows_added), (summary.rows_updated, batch.rows_updated)):
        for table, count in added.items():
            total[table] = total.get(table, 0) + count


def _stage_line_problems(connection, source_name: str, slices: list[FileSlice]) -> None:
    """Lines the line reader held back (too long, too deep, not UTF-8) join the batch's quarantine."""
    problems = [(index, problem) for index, slice_ in enumerate(slices) for problem in slice_.problems]
    if not problems:
        return
    table = pa.Table.from_arrays(
        [
            int_column([index for index, _ in problems], pa.int32()),
            int_column([problem.line_no for _, problem in problems]),
            string_column([problem.reason for _, problem in problems]),
            string_column([problem.excerpt for _, problem in problems]),
        ],
        names=["file_idx", "line_no", "reason", "raw_excerpt"],
    )
    connection.register("batch_line_problems", table)
    try:
        connection.execute(
            "insert into stage_quarantine by name select ? as source_system, files.path as source_file,"
            " problems.line_no as source_line, 'rejected' as severity, problems.reason, problems.raw_excerpt"
            " from batch_line_problems as problems join batch_files as files using (file_idx)",
            [source_name],
        )
    finally:
        connection.unregister("batch_line_problems")


@traced(  # a span per batch transaction; attributes read after it, from the batch's IngestSummary
    "aioa.ingest.batch",
    lambda _connection, source, batch, *rest: {
        "source": source.name,
        "files": len(batch),
        "rows_added": sum(next(a for a in rest if isinstance(a, IngestSummary)).rows_added.values()),
    },
)
def _load_batch(connection, source, batch, slices, discovered, config, catalog, settings, summary, reasons) -> None:
    # One contiguous column per batch: DuckDB scans an Arrow table of thousands of small chunks (one per file)
    # several times slower, and holds far more memory while parsing it.
    lines = pa.concat_tables([slice_.lines for slice_ in slices]).combine_chunks()
    file_idx = np.repeat(np.arange(len(slices), dtype=np.int32), [slice_.lines.num_rows for slice_ in slices])
    lines = lines.append_column("file_idx", int_column(file_idx, pa.int32()))
    lines = _in_parts(lines, _duckdb_threads(connection))
    files = pa.Table.from_arrays(
        [
            int_column(np.arange(len(slices)), pa.int32()),
            string_column([str(slice_.path) for slice_ in slices]),
            string_column([discovered[str(slice_.path)].config_dir for slice_ in slices]),
            bool_column([slice_.truncated_tail for slice_ in slices]),
            int_column([slice_.last_line_no for slice_ in slices]),
            int_column([slice_.start_line for slice_ in slices]),
        ],
        names=["file_idx", "path", "config_dir", "truncated_tail", "last_line_no", "start_line"],
    )
    connection.register("batch_lines", lines)
    connection.register("batch_files_rows", files)
    connection.begin()
    try:
        # The sources join batch_files several times: as a temp table (one row per file), not the registered Arrow
        # table, which DuckDB 1.5 joins several times slower.
        connection.execute("create temp table batch_files as select * from batch_files_rows")
        connection.execute(
            "delete from raw.quarantine as q using batch_files as f "
            "where q.source_system = ? and q.source_file = f.path and q.source_line > f.start_line",
            [source.name],
        )
        source.stage(connection)
        _stage_line_problems(connection, source.name, slices)
        for table in source.tables:
            attribute_rows(connection, f"stage_{table}", config)
        if "llm_calls" in source.tables:
            summary.unpriced += apply_prices(connection, "stage_llm_calls", catalog)
            _flag_unpriced(connection, source.name)
        limit_staged_text(connection, source.tables)  # AIOA_STORE_TEXT, before anything is stored
        for table in source.tables:
            archived = archived_files_for_stage(connection, settings, table)
            counts = merge_staged(connection, table, archived, settings_read_options(settings))
            summary.rows_added[table] = summary.rows_added.get(table, 0) + counts.added
            summary.rows_updated[table] = summary.rows_updated.get(table, 0) + counts.updated
            if table in ("llm_calls", "handoffs"):
                summary.duplicates_skipped += counts.duplicates
        if "tool_calls" in source.tables and _has_table(connection, "stage_tool_results"):
            apply_tool_results(connection, config)  # attributed like the transcript's rows
        quarantine = connection.execute(
            "select severity, reason, count(*) from stage_quarantine group by all"
        ).fetchall()
        for severity, reason, count in quarantine:
            if severity == "rejected":
                summary.quarantined += count
            else:
                summary.flagged += count
            reasons[_reason_family(reason)] += count
        if quarantine:
            store_quarantine(connection, source.tables)  # with each line's org where known (tenant-scoped reads)
        record_files(
            connection,
            source.name,
            [_manifest_row(plan, slice_) for plan, slice_ in zip(batch, slices, strict=True)],
            summary.run_id,
        )
        summary.files_read += len(slices)
        summary.bytes_read += sum(slice_.consumed_bytes - slice_.start_byte for slice_ in slices)
        summary.lines_read += sum(slice_.line_count for slice_ in slices)
        for hook in BEFORE_COMMIT_HOOKS:
            hook()
        connection.commit()
    except BaseException:
        abort = getattr(connection, "abort", None)  # DuckDB 2: a result the failed step left unfinished would
        if abort is not None:  # block every later call; DuckDB 1.5 has no abort() and closes it on the next call
            with contextlib.suppress(duckdb.Error):
                abort()
        connection.rollback()
        raise
    finally:
        connection.unregister("batch_lines")
        connection.unregister("batch_files_rows")
        with contextlib.suppress(duckdb.Error):  # gone already when the transaction rolled back
            connection.execute("drop table if exists batch_files")


def _in_parts(lines: pa.Table, parts: int) -> pa.Table:
    """The batch's lines as `parts` chunks of about equal bytes (zero-copy slices): DuckDB scans an Arrow table one
    chunk per thread, so one chunk parses on one core, and thousands of small ones (one per file) cost more than
    they gain. The order of the lines is unchanged."""
    if parts <= 1 or lines.num_rows < 2 * parts:
        return lines
    offsets = np.frombuffer(lines.column("text").chunk(0).buffers()[1], dtype=np.int64)
    offsets = offsets[lines.column("text").chunk(0).offset :][: lines.num_rows + 1]
    targets = offsets[0] + (offsets[-1] - offsets[0]) * np.arange(1, parts) / parts
    cuts = np.unique(np.concatenate([[0], np.searchsorted(offsets, targets), [lines.num_rows]]))
    return pa.concat_tables([lines.slice(start, end - start) for start, end in zip(cuts[:-1], cuts[1:], strict=True)])


def _duckdb_threads(connection: duckdb.DuckDBPyConnection) -> int:
    return int(connection.execute("select current_setting('threads')").fetchall()[0][0])


def _restore_threads(connection: duckdb.DuckDBPyConnection, threads: int | None) -> None:
    """Give the database its threads back (a plain warehouse file's database is shared by every connection to it
    in this process); nothing to do when the run did not change them."""
    if threads is not None:
        with contextlib.suppress(duckdb.Error):
            connection.execute(f"set threads = {int(threads)}")


def _flag_unpriced(connection: duckdb.DuckDBPyConnection, source_name: str) -> None:
    connection.execute(
        """
        insert into stage_quarantine
        select ?, source_file, source_line, 'flagged',
               'unknown model: no price for ' || model || ' (provider ' || coalesce(provider, '?') || ')'
               || '; cost left empty, add it to the price override file',
               null
        from stage_llm_calls where price_status = 'unpriced'
        qualify row_number() over (partition by call_key order by source_file, source_line) = 1
        """,
        [source_name],
    )


def _reason_family(reason: str) -> str:
    return reason.split(":")[0]


def _manifest_row(plan: FilePlan, slice_: FileSlice) -> tuple:
    return (
        str(plan.path),
        plan.size_bytes,
        plan.mtime_ns,
        slice_.consumed_bytes,
        slice_.consumed_lines,
        slice_.prefix_sha256,
    )


def _batches(plans: list[FilePlan], batch_bytes: int, batch_files: int):
    """Batches of at most `batch_bytes` new bytes (a single larger file is a batch alone) and `batch_files` files."""
    batch: list[FilePlan] = []
    size = 0
    for plan in plans:
        new_bytes = plan.size_bytes - plan.start_byte
        if batch and size + new_bytes > batch_bytes:
            yield batch
            batch, size = [], 0
        batch.append(plan)
        size += new_bytes
        if size >= batch_bytes or len(batch) >= batch_files:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _has_table(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        connection.execute(
            "select count(*) from duckdb_tables() where table_name = ? and temporary", [name]
        ).fetchone()[0]
    )


def _new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def _start_run(connection: duckdb.DuckDBPyConnection, summary: IngestSummary) -> None:
    connection.execute(
        "insert into raw.ingest_runs (ingest_run_id, source_system, started_at, status) "
        "values (?, ?, current_timestamp, 'running')",
        [summary.run_id, summary.source],
    )


def _finish_run(connection, summary: IngestSummary, status: str, message: str | None = None) -> None:
    # The run row is bookkeeping: never let it mask the real outcome.
    with contextlib.suppress(duckdb.Error):
        connection.execute(
            """
            update raw.ingest_runs set finished_at = current_timestamp, status = ?, files_seen = ?, files_read = ?,
                bytes_read = ?, lines_read = ?, rows_added = ?, rows_updated = ?, duplicates_skipped = ?,
                quarantined = ?, flagged = ?, unpriced = ?, message = ?
            where ingest_run_id = ?
            """,
            [
                status,
                summary.files_seen,
                summary.files_read,
                summary.bytes_read,
                summary.lines_read,
                sum(summary.rows_added.values()),
                sum(summary.rows_updated.values()),
                summary.duplicates_skipped,
                summary.quarantined,
                summary.flagged,
                summary.unpriced,
                message,
                summary.run_id,
            ],
        )


def _rollback_quietly(connection: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):
        connection.rollback()
