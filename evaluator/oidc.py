"""Sign-in through an OpenID Connect provider (Streamlit's `st.login`, extra `.[auth]`): the
identity → role/unit mapping file the office keeps, and the startup checks.

The provider says who someone is (their e-mail or subject); the mapping says what they may see.
Anyone the mapping does not name is refused, so adding a person to the provider never opens the
results by itself. Built-in users (evaluator/users.py) stay the default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from evaluator.errors import EvaluatorError
from evaluator.users import ROLES

SECRET_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
ENV_MAPPING = "EVALUATOR_OIDC_MAPPING"  # set by `evaluator dashboard --oidc FILE`: OIDC is on


class OidcError(EvaluatorError):
    """The OIDC set-up is incomplete or wrong; the message names the file, the entry and the fix."""


@dataclass(frozen=True)
class Identity:
    role: str
    unit_id: str | None = None


def load_mapping(path: Path, known_units: set[str] | None = None) -> dict[str, Identity]:
    """Read the mapping file: a TOML table per identity (lower-cased e-mail or subject), e.g.

        ["wang@example.gov.cn"]
        role = "unit"
        unit = "0101"
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OidcError(
            f"{path}: cannot read the identity mapping ({exc.strerror}) / 无法读取映射文件"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise OidcError(f"{path}: not valid TOML ({exc}) / 映射文件格式错误") from None
    if not raw:
        raise OidcError(f"{path}: maps nobody; add a table per identity / 映射文件为空")
    out: dict[str, Identity] = {}
    for who, entry in raw.items():
        where = f"{path}: [{who!r}]"
        if not isinstance(entry, dict):
            raise OidcError(f"{where}: must be a table with role = … / 须为表")
        role, unit = entry.get("role"), entry.get("unit")
        if role not in ROLES:
            raise OidcError(f"{where}: role must be one of {', '.join(ROLES)} / 角色无效")
        if (role == "unit") != (unit is not None):
            raise OidcError(f"{where}: role unit needs unit = \"ID\", and only it takes one / 单位设置有误")
        if unit is not None and known_units is not None and str(unit) not in known_units:
            raise OidcError(f"{where}: unit {unit!r} is not a loaded unit / 单位不存在")
        extra = set(entry) - {"role", "unit"}
        if extra:
            raise OidcError(f"{where}: unknown key(s) {', '.join(sorted(extra))} / 未知字段")
        out[who.strip().lower()] = Identity(role, str(unit) if unit is not None else None)
    return out


def check_secrets(path: Path) -> None:
    """The `[auth]` section `st.login` needs in `.streamlit/secrets.toml`, checked before start."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise OidcError(
            f"{path}: missing; OIDC needs an [auth] section with {', '.join(SECRET_KEYS)} / 缺少 secrets.toml"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise OidcError(f"{path}: not valid TOML ({exc})") from None
    auth = raw.get("auth")
    if not isinstance(auth, dict):
        raise OidcError(f"{path}: no [auth] section / 缺少 [auth]")
    missing = [k for k in SECRET_KEYS if not str(auth.get(k) or "").strip()]
    if missing:
        raise OidcError(f"{path}: [auth] lacks {', '.join(missing)} / [auth] 缺少配置项")


def identity_of(mapping: dict[str, Identity], email: str | None, subject: str | None) -> Identity:
    """The mapped role of a signed-in identity; refused when the mapping names neither."""
    for key in (email, subject):
        if key and key.strip().lower() in mapping:
            return mapping[key.strip().lower()]
    raise OidcError(f"{email or subject or 'this identity'} is not in the identity mapping; "
                    "ask the office to add it / 该身份未授权")


def loaded_units(db: Path) -> set[str]:
    """The unit ids loaded in `db` (a data DB or its snapshot), which a mapping may name."""
    try:
        with duckdb.connect(str(db), read_only=True) as con:
            return {str(r[0]) for r in con.execute("SELECT unit_id FROM units").fetchall()}
    except duckdb.Error as exc:
        raise OidcError(f"{db}: cannot read the loaded units ({exc}) / 无法读取单位") from None


def check_setup(mapping: Path, secrets: Path, db: Path) -> dict[str, Identity]:
    """Every startup check of an OIDC dashboard, before the server starts: the `[auth]` secrets,
    then the mapping file against the units loaded in `db`. Raises OidcError naming the fix."""
    check_secrets(secrets)
    return load_mapping(mapping, loaded_units(db))


_CACHE: dict[Path, tuple[int, dict[str, Identity]]] = {}


def current_mapping(path: Path) -> dict[str, Identity]:
    """The mapping as the file is now: re-read when it changes, so an office's edit applies
    from the next click without a restart (an edit that breaks it refuses everyone)."""
    stamp = path.stat().st_mtime_ns if path.exists() else -1
    held = _CACHE.get(path)
    if held is None or held[0] != stamp:
        held = (stamp, load_mapping(path))
        _CACHE[path] = held
    return held[1]
