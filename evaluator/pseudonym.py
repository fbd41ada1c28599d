"""Keyed hashing of survey respondent identifiers, so repeats can be found but nobody re-identified.

HMAC-SHA256 with a secret that never enters the database: `EVALUATOR_SECRET` when set, otherwise
a random key in `DB.key` beside the database file (created on first use, mode 600). Without the
key a phone number cannot be confirmed by hashing guesses. Hashing runs inside DuckDB (the
HMAC construction over `sha256`), so millions of ids are hashed set-based; `hash()` is the Python
reference used to check it. Changing the key changes every hash: keep the key with the database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from evaluator.errors import EvaluatorError
from evaluator.sidefiles import SideFileClash, side_file

ENV_VAR = "EVALUATOR_SECRET"
HASH_CHARS = 32  # 128 bits of the HMAC, hex


class PseudonymKeyError(EvaluatorError):
    """No key available (in-memory DB and no EVALUATOR_SECRET), or the key file is unusable."""


def key_path(db: Path) -> Path:
    """`data/evaluator.duckdb` → `data/evaluator.duckdb.key` (from the whole file name, so
    `x.duckdb` and `x.db` never share a key; a `data/evaluator.key` is taken over, see
    sidefiles)."""
    try:
        return side_file(db, ".key")
    except SideFileClash as exc:
        raise PseudonymKeyError(str(exc)) from None


class Pseudonymiser:
    """Holds the key; hashes in Python (`hash`) or as a DuckDB expression (`sql`)."""

    def __init__(self, key: bytes):
        if not key:
            raise PseudonymKeyError("empty pseudonymisation key")
        self._key = key

    @classmethod
    def for_db(cls, db: Path | None) -> Pseudonymiser:
        secret = os.environ.get(ENV_VAR)
        if secret:
            return cls(secret.encode("utf-8"))
        if db is None:
            raise PseudonymKeyError(
                f"no key for respondent ids: set {ENV_VAR} or use a database file "
                f"/ 请设置 {ENV_VAR} 或使用数据库文件"
            )
        path = key_path(Path(db))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            try:
                return cls(bytes.fromhex(path.read_text(encoding="ascii").strip()))
            except (ValueError, PseudonymKeyError):
                raise PseudonymKeyError(
                    f"{path}: key file is damaged; restore it from backup (without it, "
                    "respondents cannot be matched across batches) / 密钥文件损坏") from None
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        return cls.for_db(db)

    def _pads(self) -> tuple[bytes, bytes]:
        key = hashlib.sha256(self._key).digest() if len(self._key) > 64 else self._key
        key = key.ljust(64, b"\0")
        return bytes(b ^ 0x5C for b in key), bytes(b ^ 0x36 for b in key)

    def hash(self, raw: str) -> str:
        return hmac.new(self._key, raw.encode("utf-8"), hashlib.sha256).hexdigest()[:HASH_CHARS]

    def sql(self, column: str) -> tuple[str, list[bytes]]:
        """A DuckDB expression hashing `column` (NULL stays NULL) and its two parameters."""
        opad, ipad = self._pads()
        expr = (f"left(sha256(?::BLOB || unhex(sha256(?::BLOB || encode({column})))), "
                f"{HASH_CHARS})")
        return expr, [opad, ipad]
