"""Characters typed with a Chinese input method where YAML and ids need ASCII, and what to type.

A full-width comma in `unit_types: [township，street]` silently makes one unit type; a
full-width colon or an ideographic space breaks the YAML far from where it was typed. Both the
id validator (models) and the YAML error report (loader) name the character and its ASCII twin.
"""

from __future__ import annotations

import re
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


_KEY_FULLWIDTH_COLON = re.compile(r"(?:^|[\s{,\[-])[A-Za-z_][A-Za-z0-9_.-]*[ \t]*(：)")
_LEADING = re.compile(r"^[ \t\u3000]*")
_ASCII_FULLWIDTH_COMMA = re.compile(r"[A-Za-z0-9_][ \t]*(，)[ \t]*[A-Za-z0-9_]")


def yaml_hints(text: str) -> list[tuple[int, str]]:
    """(1-based line, message) for each character that typically breaks YAML when typed with a
    Chinese input method: a full-width colon after a key, an ideographic space or a tab in the
    indentation, a full-width comma between ASCII items of a flow list or mapping.

    Only called once parsing has failed: the parser notices these a line or more later, or
    with a message that does not name the character."""
    out: list[tuple[int, str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        code = _strip_comment(line)
        indent = _LEADING.match(code)
        lead = indent.group(0) if indent else ""
        if "\u3000" in lead:
            col = lead.index("\u3000") + 1
            out.append((n, f"column {col}: the indentation contains '\u3000' (ideographic "
                           "(full-width) space, U+3000): indent with ordinary spaces"))
        elif "\t" in lead and code.strip():
            col = lead.index("\t") + 1
            out.append((n, f"column {col}: the indentation contains a tab: YAML indents with "
                           "spaces only; replace the tab with spaces"))
        for m in _KEY_FULLWIDTH_COLON.finditer(code):
            out.append((n, f"column {m.start(1) + 1}: '：' (full-width colon) after a key: "
                           "replace '：' with ':' (and put a space after it)"))
        if any(b in code for b in "[{"):
            for m in _ASCII_FULLWIDTH_COMMA.finditer(code):
                out.append((n, f"column {m.start(1) + 1}: '，' (full-width comma) between "
                               "items: replace '，' with ', '"))
    return out


def _strip_comment(line: str) -> str:
    """The line without a trailing `# comment` (a '#' after whitespace, outside quotes)."""
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t\u3000"):
            return line[:i]
    return line
