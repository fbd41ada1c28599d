"""The OIDC identity mapping and startup checks (no identity provider is reachable here)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from helpers.dashboard import run_page
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.cli.serve_cmds import dashboard_command
from evaluator.oidc import (
    ENV_MAPPING,
    Identity,
    OidcError,
    check_secrets,
    check_setup,
    identity_of,
    load_mapping,
)


def _write(tmp_path: Path, text: str, name: str = "map.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_mapping_gives_roles_and_units(tmp_path):
    path = _write(tmp_path, '["Wang@Example.gov.cn"]\nrole = "unit"\nunit = "0101"\n'
                            '["li@example.gov.cn"]\nrole = "leadership"\n')
    mapping = load_mapping(path, known_units={"0101"})
    assert identity_of(mapping, "wang@example.gov.cn", None) == Identity("unit", "0101")
    assert identity_of(mapping, None, "LI@example.gov.cn") == Identity("leadership")
    with pytest.raises(OidcError, match="not in the identity mapping"):
        identity_of(mapping, "stranger@example.gov.cn", "sub-1")


@pytest.mark.parametrize("text,why", [
    ('["a"]\nrole = "boss"\n', "role must be one of"),
    ('["a"]\nrole = "unit"\n', "needs unit"),
    ('["a"]\nrole = "office"\nunit = "0101"\n', "only it takes one"),
    ('["a"]\nrole = "unit"\nunit = "9999"\n', "not a loaded unit"),
    ('["a"]\nrole = "office"\ncolour = "red"\n', "unknown key"),
    ('a = 1\n', "must be a table"),
    ('', "maps nobody"),
    ('["a"\n', "not valid TOML"),
])
def test_bad_mappings_name_the_entry(tmp_path, text, why):
    with pytest.raises(OidcError, match=why):
        load_mapping(_write(tmp_path, text), known_units={"0101"})


def test_secrets_are_checked_before_start(tmp_path):
    with pytest.raises(OidcError, match="missing"):
        check_secrets(tmp_path / "secrets.toml")
    with pytest.raises(OidcError, match=r"no \[auth\]"):
        check_secrets(_write(tmp_path, "x = 1\n", "secrets.toml"))
    with pytest.raises(OidcError, match="lacks client_secret, server_metadata_url"):
        check_secrets(_write(tmp_path, '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"'
                                       '\ncookie_secret = "s"\nclient_id = "c"\n', "secrets.toml"))
    check_secrets(_write(tmp_path, '[auth]\nredirect_uri = "r"\ncookie_secret = "s"\nclient_id = "c"'
                                   '\nclient_secret = "x"\nserver_metadata_url = "u"\n', "secrets.toml"))


# --------------------------------------------------------------------------- startup checks

SECRETS = ('[auth]\nredirect_uri = "http://127.0.0.1:8501/oauth2callback"\ncookie_secret = "s"\n'
           'client_id = "c"\nclient_secret = "x"\n'
           'server_metadata_url = "https://idp.example/.well-known/openid-configuration"\n')


def _units(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as c:
        return [r[0] for r in c.execute("SELECT unit_id FROM units ORDER BY unit_id").fetchall()]


def test_setup_is_checked_against_the_loaded_units(dash_db, tmp_path):
    mine = _units(dash_db)[0]
    secrets = _write(tmp_path, SECRETS, "secrets.toml")
    good = _write(tmp_path, f'["wang@example.gov.cn"]\nrole = "unit"\nunit = "{mine}"\n')
    assert check_setup(good, secrets, dash_db) == {"wang@example.gov.cn": Identity("unit", mine)}
    bad = _write(tmp_path, '["li@example.gov.cn"]\nrole = "unit"\nunit = "no-such-unit"\n', "b.toml")
    with pytest.raises(OidcError, match=r"\['li@example.gov.cn'\].*not a loaded unit"):
        check_setup(bad, secrets, dash_db)
    with pytest.raises(OidcError, match="secrets.toml: missing"):
        check_setup(good, tmp_path / "nowhere" / "secrets.toml", dash_db)


@pytest.mark.parametrize("case", ["no secrets", "unmapped unit", "with --no-auth"])
def test_the_dashboard_refuses_to_start_on_a_broken_oidc_setup(dash_db, tmp_path, case):
    secrets = _write(tmp_path, SECRETS, "secrets.toml")
    unit = "no-such-unit" if case == "unmapped unit" else _units(dash_db)[0]
    mapping = _write(tmp_path, f'["wang@example.gov.cn"]\nrole = "unit"\nunit = "{unit}"\n')
    args = ["dashboard", "--db", str(dash_db), "--port", "8599", "--oidc", str(mapping),
            "--secrets", str(tmp_path / "absent.toml" if case == "no secrets" else secrets)]
    res = CliRunner().invoke(app, args + (["--no-auth"] if case == "with --no-auth" else []))
    assert res.exit_code == 1
    why = {"no secrets": "absent.toml: missing", "unmapped unit": "not a loaded unit",
           "with --no-auth": "contradict"}[case]
    assert why in " ".join(res.output.split()), res.output
    assert "http://127.0.0.1" not in res.output  # refused before serving


def test_the_server_command_carries_the_mapping_and_the_checked_secrets(dash_db, tmp_path):
    mapping, secrets = tmp_path / "map.toml", tmp_path / "s.toml"
    cmd, env = dashboard_command(dash_db, 8599, False, mapping, secrets)
    assert env[ENV_MAPPING] == str(mapping.resolve())
    assert cmd[cmd.index("--secrets.files") + 1] == str(secrets.resolve())
    cmd, env = dashboard_command(dash_db, 8599, False)  # built-in users: the default
    assert ENV_MAPPING not in env and "--secrets.files" not in cmd


# --------------------------------------------------------------------------- the sign-in page
# Streamlit's own test API stands in for the provider: `AppTest.user` is what `st.user` reads.


def _page(monkeypatch, db: Path, mapping: Path, user: dict | None, page: str | None = None,
          **params: str) -> AppTest:
    monkeypatch.setenv(ENV_MAPPING, str(mapping))
    at = run_page(monkeypatch, db, page, "en", no_auth=False)  # nobody signed in yet
    if user is not None:
        at.user = {"is_logged_in": True, **user}
        for k, v in params.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.slow
def test_oidc_signs_a_mapped_unit_in_as_that_unit_and_refuses_strangers(
        monkeypatch, dash_db, tmp_path):
    mine, other = _units(dash_db)[:2]
    mapping = _write(tmp_path, f'["Wang@Example.gov.cn"]\nrole = "unit"\nunit = "{mine}"\n'
                               '["sub-lead-7"]\nrole = "leadership"\n')
    at = _page(monkeypatch, dash_db, mapping, None)
    assert [b.label for b in at.button] == ["Sign in with your organisation account"]
    assert not at.text_input and not at.dataframe  # no password form, no results
    at = _page(monkeypatch, dash_db, mapping, {"email": "wang@example.gov.cn", "name": "Wang"},
               "unit", unit=other)
    assert not at.error
    box = at.selectbox(key="profile_unit")
    assert box.value == mine and len(box.options) == 1 and f"({mine})" in box.options[0]
    assert any("Wang" in str(c.value) and mine in str(c.value) for c in at.sidebar.caption)
    lead = _page(monkeypatch, dash_db, mapping, {"sub": "sub-lead-7", "email": None}, "compare")
    assert not lead.error and "Compare units" in [x.value for x in lead.title]
    assert lead.get("plotly_chart")
    for who in ({"email": "stranger@example.gov.cn", "sub": "sub-9"}, {}):
        at = _page(monkeypatch, dash_db, mapping, who, "unit", unit=mine)
        errors = " ".join(str(e.value) for e in at.error)
        assert "refused" in errors and "not in the identity mapping" in errors
        assert not at.dataframe and not at.get("plotly_chart")
        assert [b.label for b in at.button] == ["Sign out"]
    # the office removes Wang: the open session is refused from the next click
    mapping.write_text('["sub-lead-7"]\nrole = "leadership"\n', encoding="utf-8")
    at = _page(monkeypatch, dash_db, mapping, {"email": "wang@example.gov.cn"}, "unit")
    assert "not in the identity mapping" in " ".join(str(e.value) for e in at.error)
    assert not at.dataframe
