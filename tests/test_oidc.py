"""The OIDC identity mapping and startup checks (no identity provider is reachable here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.oidc import Identity, OidcError, check_secrets, identity_of, load_mapping


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
