"""Saving scheme versions (file + app-store record), revising a file with its comments kept,
and the editor's draft checks (the same as the import's)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from evaluator.appstore import app_db_path
from evaluator.scheme import load_scheme
from evaluator.scheme.dump import revise_text
from evaluator.scheme.editing import check, draft_of
from evaluator.scheme.loader import load_scheme_text
from evaluator.scheme.models import Scheme
from evaluator.scheme_versions import VersionError, diff_text, list_versions, save_version, version_text
from evaluator.snapshot import snapshot_path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["indicators/demo_township.yaml", "indicators/department.yaml",
           "indicators/examples/trace_heavy.yaml", "examples/hdi/scheme.yaml"]


@pytest.mark.parametrize("path", SHIPPED)
def test_revising_an_unchanged_scheme_changes_nothing(path: str) -> None:
    loaded = load_scheme(ROOT / path)
    assert revise_text(loaded.text, loaded.scheme) == loaded.text


def test_revision_keeps_comments_and_moves_items_with_theirs() -> None:
    loaded = load_scheme(ROOT / "indicators/demo_township.yaml")
    data = loaded.scheme.model_dump(mode="json")
    data["dimensions"][0]["indicators"][0]["weight"] = 7
    moved = data["dimensions"][0]["indicators"].pop(1)
    data["dimensions"][1]["indicators"].append(moved)
    data.pop("total_points")
    for d in data["dimensions"]:
        d.pop("total_points", None)
    edited = Scheme.model_validate(data)
    text = revise_text(loaded.text, edited)
    assert load_scheme_text(text).scheme == edited
    comments = [line for line in loaded.text.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(c in text for c in comments)
    assert 'version: "2026.1"' in text  # quoting as written


def test_save_list_diff_and_refusals(tmp_path: Path) -> None:
    db = tmp_path / "evaluator.duckdb"
    folder = tmp_path / "schemes"
    folder.mkdir()
    loaded = load_scheme(ROOT / "indicators/demo_township.yaml")
    first = save_version(db, folder, loaded.scheme, loaded.text, author="office1", note="as shipped",
                         based_on="indicators/demo_township.yaml")
    assert Path(first.path).read_text() == loaded.text
    assert first.sha256 == hashlib.sha256(loaded.text.encode()).hexdigest()
    with pytest.raises(VersionError, match="already exists"):
        save_version(db, folder, loaded.scheme, loaded.text, author="office1", note=None)
    bumped = loaded.scheme.model_copy(update={"version": "2026.2"})
    text = revise_text(loaded.text, bumped)
    second = save_version(db, folder, bumped, text, author="office2", note="v2")
    assert [v.version for v in list_versions(db)] == ["2026.2", "2026.1"]
    assert version_text(db, first.version_id) == loaded.text
    diff = diff_text(version_text(db, first.version_id), version_text(db, second.version_id),
                     "v1", "v2")
    assert '-version: "2026.1"' in diff and '+version: "2026.2"' in diff
    with pytest.raises(VersionError, match="snapshot folder"):
        inside = snapshot_path(db).parent
        inside.mkdir(parents=True)
        save_version(db, inside, bumped.model_copy(update={"version": "3"}), text, author=None,
                     note=None)
    with pytest.raises(VersionError, match="does not exist"):
        save_version(db, tmp_path / "nope", bumped, text, author=None, note=None)
    rows = sqlite3.connect(app_db_path(db)).execute(
        "SELECT author, note FROM scheme_versions ORDER BY version_id").fetchall()
    assert rows == [("office1", "as shipped"), ("office2", "v2")]
    assert sorted(p.name for p in folder.iterdir()) == [
        "demo_township-v2026.1.yaml", "demo_township-v2026.2.yaml"]  # no temporary files left


def test_the_draft_is_checked_like_an_import() -> None:
    scheme = load_scheme(ROOT / "indicators/demo_township.yaml").scheme
    draft = draft_of(scheme)
    assert check(draft) == (scheme, [])
    draft.tree[1]["weight"] = "lots"
    draft.tree.append({"kind": "indicator", "parent": "governance", "id": "new_one",
                       "name.zh": "新", "name.en": "New", "evidence": "outcome",
                       "rule.type": "direct", "weight": 0})
    result, problems = check(draft)
    assert result is None
    where = {(p.table, p.index, p.key) for p in problems}
    assert ("tree", 1, "weight") in where
    assert ("tree", len(draft.tree) - 1, "source.measure") in where
    blank = check(draft_of(None))[1]
    assert {p.key for p in blank if p.table == "settings"} >= {"id", "year", "unit_types"}


def test_rows_may_come_before_their_dimension() -> None:
    """A sheet sorted by hand: an indicator above the row of its dimension still belongs to it."""
    scheme = load_scheme(ROOT / "indicators/demo_township.yaml").scheme
    draft = draft_of(scheme)
    last = draft.tree.pop()  # an indicator of the last dimension …
    draft.tree.insert(0, last)  # … now on the first row
    again, problems = check(draft)
    assert problems == [] and again is not None
    assert again.dimensions[-1].indicators[0].id == last["id"]
