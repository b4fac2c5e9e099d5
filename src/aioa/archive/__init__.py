"""Retention and archival: rows past a tenant's retention move to Hive-partitioned Parquet and stay queryable."""
