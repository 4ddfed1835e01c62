"""Text from outside (file and folder names, camera names, queries) made safe to print on one line.

A file name may hold a newline, a terminal escape sequence or a right-to-left override: printed as it
is, it could forge a log line or an audit-tail line, or change what the terminal shows. `printable`
shows every such character as its Python escape (`\\n`, `\\x1b`, `\\u202e`), so one record is always one
line and the text is what it says. Rich markup (`[red]`) is escaped separately where rich prints
(forensic.render).
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional formatting characters
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def printable(text) -> str:
    """`text` (anything, via str) with every control character shown as an escape; other text unchanged."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))
