"""Who is reading: the role and unit every read function is given, and the checks they apply.

One place decides what a role may see (office everything; leadership published runs and
aggregated results; unit its own rows plus the published league table), so no page has to.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator.errors import EvaluatorError
from evaluator.readmodel._base import Con, _one
from evaluator.users import ROLES  # the roles a user can have: the ones the read layer serves


class Forbidden(EvaluatorError):
    """The viewer may not read this; the message says what and why."""


@dataclass(frozen=True)
class Viewer:
    """A signed-in role; `unit_id` only for role unit."""

    role: str
    unit_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise Forbidden(f"unknown role {self.role!r} / 未知角色")
        if self.role == "unit" and not self.unit_id:
            raise Forbidden("a unit viewer needs its unit / 单位用户须指定单位")

    @property
    def office(self) -> bool:
        return self.role == "office"


OFFICE = Viewer("office")


def published_only(viewer: Viewer) -> bool:
    """Whether this viewer sees published runs only (everyone but the office)."""
    return not viewer.office


def run_filter(viewer: Viewer, alias: str = "r") -> str:
    """SQL condition on `runs` limiting what the viewer may list (no parameters)."""
    return "TRUE" if viewer.office else f"coalesce({alias}.published, FALSE)"


def require_run(con: Con, viewer: Viewer, run_id: str) -> None:
    """Refuse a run the viewer may not see (an unpublished one for non-office roles)."""
    if viewer.office:
        return
    row = _one(con, "SELECT coalesce(published, FALSE) FROM runs WHERE run_id = ?", [run_id])
    if row is None or not row[0]:
        raise Forbidden(f"run {run_id} is not published / 该次评分尚未发布")


def require_office(viewer: Viewer) -> None:
    """Refuse what only the office may read (data quality, scheme health, respondent data)."""
    if not viewer.office:
        raise Forbidden(f"only the office may read this (you are {viewer.role}) / 仅考核办可查看")


def require_not_unit(viewer: Viewer) -> None:
    """Refuse cross-unit detail (indicators, flags, intervals of several units) to a unit."""
    if viewer.role == "unit":
        raise Forbidden("a unit sees only its own detail / 单位用户只能查看本单位明细")


def require_unit(viewer: Viewer, unit_id: str | None) -> None:
    """Refuse another unit's rows to a unit viewer (and the all-units view)."""
    if viewer.role == "unit" and unit_id != viewer.unit_id:
        raise Forbidden(f"unit {viewer.unit_id} may not read unit {unit_id} / 不能查看其他单位的数据")


def require_units(viewer: Viewer, unit_ids: list[str]) -> None:
    for unit_id in unit_ids:
        require_unit(viewer, unit_id)
