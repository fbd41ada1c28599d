"""Which text encoding a CSV file is in, decided strictly, never guessed.

The rule (docs/ingest.md, "Encodings"):

1. a UTF-16 byte-order mark: refused (Excel's "Unicode text"; save as CSV UTF-8);
2. UTF-8, with or without a byte-order mark, when every byte of the file decodes as UTF-8;
3. GB18030 only when that is unambiguous: the whole file decodes as GB18030 and at least 95% of
   its non-ASCII characters are everyday Chinese characters (those of GB2312), as in the text
   WPS and Excel on Chinese Windows write; a few rarer characters in names are fine. Latin-1
   ("Qu\\xe9bec") and Shift-JIS read as GB18030 give rare or traditional characters
   ("Qu閎ec", "傂傜偑側") and are refused;
4. otherwise the file is refused with the encodings that can decode it, each with the first
   line that differs shown as it would be read, so the office picks one with `--encoding`.

With `--encoding ENC` the file is decoded strictly with ENC (any Python codec name).
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CHUNK = 1 << 20
PROBE = 4 << 20  # bytes of a refused file the candidate encodings are tried on
CANDIDATES = ("gb18030", "big5", "shift_jis", "euc_kr", "cp1252")
EVERYDAY_SHARE = 0.95  # GB18030 is taken only when this share of its characters is in GB2312
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True)
class Undecodable(Exception):
    """The file cannot be decoded as asked; `offset` is the first bad byte, `reason` says why
    and what to do (zh/en)."""

    offset: int
    reason: str


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            yield block


def decodes(path: Path, encoding: str) -> int | None:
    """None when the whole file decodes strictly as `encoding`, else the offset of the first
    byte that does not."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    for block in _chunks(path):
        try:
            decoder.decode(block)
        except UnicodeError as exc:  # UnicodeDecodeError, or e.g. UTF-16 without a BOM
            return offset + max(getattr(exc, "start", 0), 0)
        offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeError:
        return offset
    return None


def everyday_share(path: Path) -> float:
    """Share of the file's non-ASCII characters, read as GB18030, that are everyday Chinese
    (in GB2312): 1.0 for common Chinese text, near 0 for Latin-1 or Shift-JIS read as GB18030
    (their bytes decode to rare or traditional characters). Call only when GB18030 decodes."""
    decoder = codecs.getincrementaldecoder("gb18030")(errors="strict")
    counts: Counter[str] = Counter()
    for block in _chunks(path):
        counts.update(_NON_ASCII.findall(decoder.decode(block)))
    counts.update(_NON_ASCII.findall(decoder.decode(b"", final=True)))
    total = sum(counts.values())
    everyday = sum(n for ch, n in counts.items() if _in_gb2312(ch))
    return everyday / total if total else 1.0


@lru_cache(maxsize=65536)
def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def detect(path: Path, requested: str | None = None) -> str:
    """The codec to read `path` with (`utf-8`, `utf-8-sig`, `gb18030` or `requested`), or
    `Undecodable` saying why not."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if requested:
        info = codecs.lookup(requested)  # LookupError: the caller names the option
        if not getattr(info, "_is_text_encoding", True):  # base64, zlib, rot13…: not a charset
            raise LookupError(requested)
        name = info.name
        if name == "utf-8" and head.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        bad = decodes(path, name)
        if bad is not None:
            raise Undecodable(bad, f"the text is not valid {requested} (undecodable bytes); "
                                   f"check --encoding / 文本不是有效的 {requested} 编码")
        return name
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise Undecodable(0, "file is UTF-16 (Excel 'Unicode text'); save it as 'CSV UTF-8' "
                             "/ 请另存为 UTF-8 编码的 CSV")
    utf8 = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    bad = decodes(path, utf8)
    if bad is None:
        return utf8
    with path.open("rb") as fh:
        prefix = fh.read(bad)
    if utf8 == "utf-8-sig" or not prefix.isascii():
        raise Undecodable(bad, "the file is UTF-8 up to here, then has bytes that are not "
                               "UTF-8 (a damaged or mixed file); fix the line, save it as "
                               "'CSV UTF-8', or give --encoding / 文件在此处含有非 UTF-8 字节")
    if decodes(path, "gb18030") is None and everyday_share(path) >= EVERYDAY_SHARE:
        return "gb18030"
    raise Undecodable(bad, ambiguity(path, bad))


def ambiguity(path: Path, bad: int) -> str:
    """Why the encoding cannot be told, with each candidate's reading of the first non-UTF-8
    line, and what to do."""
    with path.open("rb") as fh:
        probe = fh.read(PROBE)
    start = probe.rfind(b"\n", 0, bad) + 1
    end = probe.find(b"\n", bad)
    line = probe[start:end if end >= 0 else len(probe)].rstrip(b"\r")
    found = []
    for enc in CANDIDATES:
        try:
            codecs.getincrementaldecoder(enc)().decode(probe, final=len(probe) < PROBE)
            shown = line.decode(enc)
        except UnicodeError:
            continue
        found.append(f"{enc} → {shown[:60]!r}")
    if not found:
        return ("the text is not UTF-8 and no common encoding (GB18030, Big5, Shift-JIS, EUC-KR, "
                "Windows-1252) decodes it: is it a CSV text file? Save it as 'CSV UTF-8' "
                "/ 文件不是可识别编码的文本，请另存为 UTF-8 编码的 CSV")
    return ("the text is not UTF-8 and its encoding is ambiguous; this line reads as "
            + "; ".join(found)
            + ". Re-run with --encoding and the one that reads right ("
            + ", ".join(f.split(" ", 1)[0] for f in found)
            + "), or save the file as 'CSV UTF-8' / 文件不是 UTF-8 编码，且无法确定其编码："
            "请用 --encoding 指定，或另存为 UTF-8 编码的 CSV")
