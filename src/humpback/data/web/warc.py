"""WARC / WARC.gz files -> HTML documents, via warcio.

Only `response` records with an HTML payload and a 2xx status become documents; the rest are
counted in `stats`, never fatal. A truncated or corrupt file is counted once in
stats["unreadable"], logged with its name, and reading that file stops there.
"""

from __future__ import annotations

import logging
import os
from email.message import Message
from typing import Iterator, Optional

from warcio.archiveiterator import ArchiveIterator

from .html_files import decode_html

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
STAT_KEYS = ("records", "documents", "unreadable", "skipped_non_response", "skipped_non_html", "skipped_status")


class _CheckedArchiveIterator(ArchiveIterator):
    """Notes whether the last gzip member ended cleanly: warcio stops silently on a cut-off
    member, and this is the only place where its decompressor is still there to ask."""

    clean_end: Optional[bool] = None

    def close(self):
        decompressor = getattr(getattr(self, "reader", None), "decompressor", None)
        if decompressor is not None and self.clean_end is None:
            self.clean_end = bool(getattr(decompressor, "eof", True))
        super().close()


def _content_type(value: Optional[str]) -> tuple[str, Optional[str]]:
    msg = Message()
    msg["content-type"] = value or "application/octet-stream"
    return msg.get_content_type(), msg.get_content_charset()


def _record_id(record) -> Optional[str]:
    rid = record.rec_headers.get_header("WARC-Record-ID")
    return rid.strip("<>") if rid else record.rec_headers.get_header("WARC-Target-URI")


def iter_warc_documents(path: str | os.PathLike, stats: Optional[dict] = None) -> Iterator[dict]:
    """Yield {id (WARC-Record-ID, else target URI), url, html} for each HTML response record."""
    stats = stats if stats is not None else {}
    for key in STAT_KEYS:
        stats.setdefault(key, 0)
    try:
        fh = open(path, "rb")
    except OSError as e:
        stats["unreadable"] += 1
        logger.warning("%s: cannot open WARC file (%s)", path, e)
        return
    with fh:
        records = _CheckedArchiveIterator(fh)
        n_records = 0  # in this file (stats may add up several files)
        try:
            for record in records:
                n_records += 1
                stats["records"] += 1
                if record.rec_type != "response" or record.http_headers is None:
                    stats["skipped_non_response"] += 1
                    continue
                mime, charset = _content_type(record.http_headers.get_header("Content-Type"))
                if mime not in HTML_TYPES:
                    stats["skipped_non_html"] += 1
                    continue
                status = record.http_headers.get_statuscode() or ""
                if not status.startswith("2"):
                    stats["skipped_status"] += 1
                    continue
                try:  # a bad Content-Encoding spoils this record only
                    payload = record.content_stream().read()
                except Exception as e:
                    stats["unreadable"] += 1
                    logger.warning("%s: unreadable record %s (%s: %s)",
                                   path, _record_id(record), type(e).__name__, e)
                    continue
                if getattr(record.raw_stream, "limit", 0) > 0:  # fewer bytes than Content-Length
                    raise EOFError(f"record {_record_id(record)} is cut off")
                url = record.rec_headers.get_header("WARC-Target-URI")
                stats["documents"] += 1
                yield {"id": _record_id(record) or f"{os.fspath(path)}@{n_records}", "url": url,
                       "html": decode_html(payload, charset)}
            if records.clean_end is False:
                raise EOFError("last gzip member is cut off")
            if n_records == 0:
                logger.warning("%s: no WARC records in this file", path)
        except Exception as e:  # warcio/zlib/gzip raise many types on damaged input
            stats["unreadable"] += 1
            logger.warning("%s: truncated or corrupt WARC, stopped reading it after %d records (%s: %s)",
                           path, n_records, type(e).__name__, e)
