"""Dashboard test helpers: run a page under Streamlit's AppTest, read its text."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


APP = str(ROOT / "dashboards" / "app.py")


PAGES = {
    "overview": ("views/overview.py", "年度考核总览", "Year at a glance"),
    "compare": ("views/compare.py", "单位对比", "Compare units"),
    "heatmap": (
        "views/heatmap.py", "热力图：单位 × 维度或指标", "Heat map: units × dimensions or indicators"
    ),
    "unit": ("views/unit.py", "单位画像", "Unit profile"),
    "scheme": (
        "views/scheme_health.py",
        "方案体检：形式主义审查",
        "Scheme health: the formalism audit",
    ),
    "quality": ("views/data_quality.py", "数据质量", "Data quality"),
    "sensitivity": (
        "views/sensitivity.py",
        "敏感性：排名有多可靠",
        "Sensitivity: how firm is each rank",
    ),
}


def run_page(
    monkeypatch: pytest.MonkeyPatch,
    db: Path,
    page: str | None,
    lang: str = "zh",
    no_auth: bool = True,
) -> AppTest:
    monkeypatch.setenv("EVALUATOR_DB", str(db))
    monkeypatch.delenv("EVALUATOR_SNAPSHOT", raising=False)
    if no_auth:
        monkeypatch.setenv("EVALUATOR_NO_AUTH", "1")
    else:
        monkeypatch.delenv("EVALUATOR_NO_AUTH", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = lang
    if page is not None and page != "overview":  # the overview is the default page, at /
        # (AppTest finds a page by its file stem; /overview is the alias redirecting to /)
        at.switch_page(PAGES[page][0])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = (
        [m.value for m in at.markdown] + [m.value for m in at.info] + [m.value for m in at.caption]
    )
    parts += (
        [m.value for m in at.warning] + [m.value for m in at.success] + [m.value for m in at.header]
    )
    return "\n".join(str(p) for p in parts)

