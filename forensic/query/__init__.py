"""What a user asks for, before any index is looked at: the typed description (parse), its time
phrases (when) and the names forensic knows (vocabulary).

This package reads no index and runs no search: it imports nothing from forensic.search,
forensic.index, forensic.evidence, forensic.api or forensic.cli (tests/query/test_layers.py checks).
"""

from forensic.query.parse import Query, fold, fold_chars, parse_query
from forensic.query.vocabulary import CAPTION_NOUN, CLASSES, COCO_KEEP, COLOR_ALIASES, DEFAULT_TZ, PALETTE, VEHICLES
from forensic.query.when import TimeError, extract_time, parse_datetime

__all__ = ["CAPTION_NOUN", "CLASSES", "COCO_KEEP", "COLOR_ALIASES", "DEFAULT_TZ", "PALETTE", "VEHICLES", "Query", "TimeError",
           "extract_time", "fold", "fold_chars", "parse_datetime", "parse_query"]
