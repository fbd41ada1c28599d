"""DuckDB storage: schema, migrations and connections."""

from evaluator.store.db import DEFAULT_DB, StoreError, connect, transaction

__all__ = ["DEFAULT_DB", "StoreError", "connect", "transaction"]
