"""How search results look on a terminal and as JSON (used by forensic.cli; rich is imported only here
and in the CLI)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from forensic.printable import printable


def console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty() or os.environ.get("COLUMNS"):
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=200)  # a log or a pipe: wide rows, not 80-column wrapping


def mmss(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:04.1f}"


def understood_json(understood: dict) -> str:
    """The `understood:` line of --json output (on stderr)."""
    return "understood: " + json.dumps(understood, ensure_ascii=False, default=str)


def hits_json(hits) -> str:
    """The hits as a JSON array of their stable keys (Hit.to_json)."""
    return json.dumps([h.to_json() for h in hits], ensure_ascii=False, indent=1)


def print_hits(understood: dict, hits) -> None:
    """The `understood:` line and a table of the hits (or "no matches")."""
    from rich.table import Table
    from rich.text import Text

    out = console()
    # names from outside (cameras, files, the query's words) are printed as they are: no rich markup is
    # read in them ("[red]cam9" stays "[red]cam9") and control characters are shown as escapes
    out.print(Text(printable("understood: " + "; ".join(f"{k}: {', '.join(v) if isinstance(v, list) and all(isinstance(x, str) for x in v) else v}"
                                                      for k, v in understood.items()))), highlight=False)
    if not hits:
        out.print("no matches")
        return
    table = Table(show_lines=False)
    plates = any(h.plate for h in hits)
    for col in ("#", "score", "class", "colours", *(("plate",) if plates else ()), "camera", "video", "time", "bbox", "thumbnail"):
        table.add_column(col, overflow="fold")
    for n, h in enumerate(hits, 1):
        colours = ", ".join(h.colors)
        if h.clothing:
            colours = f"top: {', '.join(h.clothing['upper']) or '?'}; bottom: {', '.join(h.clothing['lower']) or '?'}"
        when = mmss(h.t) + (f" ({mmss(h.track['first_seen'])}-{mmss(h.track['last_seen'])}, {h.track['detections']}x)"
                            if h.track and h.track["detections"] > 1 else "")
        when += f"\n{h.time[:19]}" if h.time else ""
        plate = (f"{h.plate['text']} ({h.plate['confidence']:.2f})" if h.plate else "",) if plates else ()
        table.add_row(str(n), f"{h.score:.3f}", Text(printable(h.cls)), colours, *plate, Text(printable(h.camera)),
                      Text(printable(Path(h.video).name)), when, ",".join(str(round(v)) for v in h.bbox), Text(printable(h.thumb or "")))
    out.print(table)
