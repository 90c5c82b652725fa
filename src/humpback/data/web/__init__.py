"""Web corpus -> self-contained segments, the first stage of instruction backtranslation.

Sources: WARC(.gz) files (iter_warc_documents), raw HTML files (iter_html_documents), plain-text
JSONL corpora (iter_text_documents). segment_documents / iter_segments cut HTML pages into the text
under each header and plain text into paragraph chunks, then filter and deduplicate them.
"""

from .config import SegmentConfig, validate_config
from .filters import RULES
from .html_files import decode_html, iter_html_documents
from .plaintext import iter_text_documents
from .segment import iter_segments, new_report, segment_documents
from .warc import iter_warc_documents

__all__ = [
    "RULES",
    "SegmentConfig",
    "decode_html",
    "iter_html_documents",
    "iter_segments",
    "iter_text_documents",
    "iter_warc_documents",
    "new_report",
    "segment_documents",
    "validate_config",
]
