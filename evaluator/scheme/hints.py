"""Characters typed with a Chinese input method where YAML and ids need ASCII, and what to type.

A full-width comma in `unit_types: [township，street]` silently makes one unit type; a
full-width colon or an ideographic space breaks the YAML far from where it was typed. Both the
id validator (models) and the YAML error report (loader) name the character and its ASCII twin.
"""

from __future__ import annotations

import unicodedata

# character -> (what to call it, the ASCII character to type instead)
NAMED: dict[str, tuple[str, str]] = {
    "，": ("full-width comma", ","),
    "：": ("full-width colon", ":"),
    "；": ("full-width semicolon", ";"),
    "、": ("ideographic comma", ","),
    "。": ("ideographic full stop", "."),
    "（": ("full-width left parenthesis", "("),
    "）": ("full-width right parenthesis", ")"),
    "［": ("full-width left bracket", "["),
    "］": ("full-width right bracket", "]"),
    "【": ("left black lenticular bracket", "["),
    "】": ("right black lenticular bracket", "]"),
    "｛": ("full-width left brace", "{"),
    "｝": ("full-width right brace", "}"),
    "“": ("curly double quote", '"'),
    "”": ("curly double quote", '"'),
    "‘": ("curly single quote", "'"),
    "’": ("curly single quote", "'"),
    "《": ("left double angle bracket", "<"),
    "》": ("right double angle bracket", ">"),
    "「": ("left corner bracket", '"'),
    "」": ("right corner bracket", '"'),
    "－": ("full-width hyphen-minus", "-"),
    "＿": ("full-width low line", "_"),
    "\u3000": ("ideographic (full-width) space, U+3000", " "),
}

USE: dict[str, str] = {
    ",": "use ',' to separate list items",
    ":": "use ':' between a key and its value",
    " ": "use an ordinary space, or none",
}


def fullwidth(ch: str) -> tuple[str, str] | None:
    """(name, ASCII replacement) when `ch` is a full-width or CJK punctuation character."""
    if ch in NAMED:
        return NAMED[ch]
    if "\uff01" <= ch <= "\uff5e":  # the full-width forms of ASCII '!'..'~'
        return unicodedata.name(ch, "full-width character").lower(), chr(ord(ch) - 0xFEE0)
    return None


def advice(ch: str) -> str:
    """'contains '，' (full-width comma): use ',' to separate list items'."""
    found = fullwidth(ch)
    if found is None:
        return f"contains {ch!r}"
    name, ascii_ = found
    fix = USE.get(ascii_, f"use the ASCII '{ascii_}' instead (half-width input)")
    return f"contains '{ch}' ({name}): {fix}"


def id_problem(value: str) -> str | None:
    """Why `value` cannot be an id (whitespace or full-width punctuation), or None."""
    for ch in value:
        if ch.isspace():
            what = {" ": "a space", "\u3000": "'\u3000' (ideographic (full-width) space, U+3000)"}.get(
                ch, f"whitespace {ch!r}")
            return (f"contains {what}: ids cannot contain spaces; use '_' inside an id, "
                    "or ',' between list items")
        if fullwidth(ch) is not None:
            return advice(ch)
    return None
