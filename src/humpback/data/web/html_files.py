"""Bytes -> HTML text, and raw .html files as documents."""

from __future__ import annotations

import codecs
import logging
import os
import re
from pathlib import Path
from typing import Iterable, Iterator, Optional

logger = logging.getLogger(__name__)

# <meta charset="x"> or <meta http-equiv="Content-Type" content="text/html; charset=x">, in the
# first bytes of the page, where the HTML standard says the declaration must sit.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_SNIFF_BYTES = 4096


def _known_codec(name: Optional[str]) -> Optional[str]:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode_html(data: bytes, declared_charset: Optional[str] = None) -> str:
    """Decode with the declared charset (HTTP header, else the page's <meta>), else UTF-8;
    undecodable bytes become U+FFFD instead of failing."""
    codec = _known_codec(declared_charset)
    if codec is None:
        match = _META_CHARSET.search(data[:_SNIFF_BYTES])
        codec = _known_codec(match.group(1).decode("ascii")) if match else None
    return data.decode(codec or "utf-8", errors="replace")


def _html_paths(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    for path in paths:
        path = Path(path)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in (".html", ".htm") and p.is_file())
        else:
            yield path


def iter_html_documents(
    paths: Iterable[str | os.PathLike] | str | os.PathLike, stats: Optional[dict] = None
) -> Iterator[dict]:
    """Yield {id, url, html} per raw HTML file (directories are searched for *.html / *.htm).
    The id is the path; files that cannot be read are counted in stats["unreadable"] and logged."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    stats = stats if stats is not None else {}
    stats.setdefault("unreadable", 0)
    for path in _html_paths(paths):
        try:
            data = path.read_bytes()
        except OSError as e:
            stats["unreadable"] += 1
            logger.warning("%s: cannot read HTML file (%s)", path, e)
            continue
        yield {"id": str(path), "url": None, "html": decode_html(data)}
