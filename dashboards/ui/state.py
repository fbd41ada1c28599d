"""Choices that outlive a page: kept in session keys that are not widget keys, and in the URL.

Streamlit forgets a widget's value when the page that drew it is left (each page's widgets are
its own, even with the same key), and page navigation clears the URL's query parameters. So a
remembered choice lives in the session key `<name>` (never a widget key); the widget `w_<name>` is seeded
from it before it is drawn and copies its value back when the user changes it; and every run
writes the remembered value back into the query parameters, so the address stays shareable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st


def store_key(name: str) -> str:
    return name


def widget_key(name: str) -> str:
    return f"w_{name}"


def remembered(name: str) -> Any:
    return st.session_state.get(store_key(name))


def remember(name: str, value: Any) -> None:
    st.session_state[store_key(name)] = value


def forget(name: str) -> None:
    st.session_state.pop(store_key(name), None)


def _copy_back(name: str) -> None:
    remember(name, st.session_state.get(widget_key(name)))


def prepare(
    name: str,
    default: Any,
    valid: Callable[[Any], bool],
    param: str | None = None,
    parse: Callable[[str], Any] = str,
) -> dict[str, Any]:
    """Seed widget `w_<name>` from the remembered value, else the URL's `param`, else `default`.

    Returns the keyword arguments to pass to the widget (`key`, `on_change`).
    """
    value = remembered(name)
    if not valid(value) and param is not None and param in st.query_params:
        try:
            value = parse(st.query_params[param])
        except ValueError:
            value = None
        if valid(value):
            remember(name, value)
    if not valid(value):
        value = default
    st.session_state[widget_key(name)] = value
    return {"key": widget_key(name), "on_change": _copy_back, "args": (name,)}


def to_url(param: str, value: str | None) -> None:
    """Write (or drop) one query parameter, only when it changes (no needless reruns)."""
    if value is None:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != value:
        st.query_params[param] = value
