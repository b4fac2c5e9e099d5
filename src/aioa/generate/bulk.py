"""Bulk Claude Code transcripts for benchmarks: millions of calls written set-based by DuckDB, not row by row.

Each file is one session of one user in one project; 30% of responses are streamed as two snapshots (the first
with partial output), so de-duplication is exercised at scale. Content blocks are left out to keep the tree to
the token bookkeeping a benchmark needs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from aioa.generate.world import USER_PROJECTS

MODELS = ["claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]
CALLS_PER_FILE = 50_000


def write_bulk_transcripts(root: Path, calls: int, first_day: date, days: int, seed: int, progress=None) -> dict:
    """Write `calls` distinct responses (plus streamed duplicates) under root/<user>/.claude/projects/…"""
    users = sorted(USER_PROJECTS)
    files = max(1, calls // CALLS_PER_FILE)
    connection = duckdb.connect()
    connection.execute("select setseed(?)", [(seed % 1000) / 1000])
    totals = {"calls": 0, "files": files}
    for index in range(files):
        user = users[index % len(users)]
        project = USER_PROJECTS[user][index % len(USER_PROJECTS[user])]
        cwd = f"/home/{user}/src/{project}"
        folder = root / user / ".claude" / "projects" / cwd.replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bulk-{index:05d}.jsonl"
        connection.execute(
            """
            copy (
                with calls as (
                    select
                        i,
                        'msg_b' || lpad($index::varchar, 5, '0') || '_' || i as message_id,
                        'req_b' || lpad($index::varchar, 5, '0') || '_' || i as request_id,
                        $first_day::timestamp + to_seconds(
                            ($index * 7919 + i * 13) % ($days * 86400)) as ts,
                        $models[1 + (hash(i, $index) % 3)::int] as model,
                        (1 + hash(i, 'in', $seed) % 60)::bigint as input_tokens,
                        (20 + hash(i, 'out', $seed) % 2500)::bigint as output_tokens,
                        (hash(i, 'cw', $seed) % 4000)::bigint as cache_write,
                        (hash(i, 'ttl', $seed) % 2 = 0) as one_hour,
                        (5000 + hash(i, 'cr', $seed) % 150000)::bigint as cache_read,
                        (hash(i, 'stream', $seed) % 10 < 3) as streamed
                    from range($calls_per_file) as r(i)
                ),
                snapshots as (
                    select *, output_tokens // 3 as shown_output, 1 as part from calls where streamed
                    union all
                    select *, output_tokens as shown_output, 2 as part from calls
                )
                select
                    'assistant' as type,
                    'bulk-' || $user || '-' || lpad($index::varchar, 5, '0') as sessionId,
                    $cwd as cwd,
                    'main' as gitBranch,
                    '2.1.40' as version,
                    strftime(ts, '%Y-%m-%dT%H:%M:%S.000Z') as timestamp,
                    request_id as requestId,
                    'u-' || message_id || '-' || part as uuid,
                    {
                        'model': model, 'id': message_id, 'type': 'message', 'role': 'assistant',
                        'usage': {
                            'input_tokens': input_tokens,
                            'cache_creation_input_tokens': cache_write,
                            'cache_read_input_tokens': cache_read,
                            'cache_creation': {
                                'ephemeral_5m_input_tokens': case when one_hour then 0 else cache_write end,
                                'ephemeral_1h_input_tokens': case when one_hour then cache_write else 0 end
                            },
                            'output_tokens': shown_output,
                            'service_tier': 'standard'
                        }
                    } as message
                from snapshots
                order by i, part
            ) to $path (format json)
            """,
            {
                "index": index,
                "first_day": first_day,
                "days": days,
                "seed": seed,
                "models": MODELS,
                "calls_per_file": CALLS_PER_FILE,
                "user": user,
                "cwd": cwd,
                "path": str(path),
            },
        )
        totals["calls"] += CALLS_PER_FILE
        if progress:
            progress("bulk transcripts", index + 1, files)
    connection.close()
    return totals
