"""How results look on a terminal and as JSON: search hits, index progress and summary, audit entries
(used by forensic.cli; rich is imported only here and in the CLI)."""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from forensic.printable import printable

log = logging.getLogger("forensic")


def _say_err(text) -> None:
    """One line on stderr: names from outside (files, cameras) cannot break it or forge another."""
    click.echo(printable(text), err=True)


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
        when += f"\n{h.time[:19]}" + (" (on-screen clock)" if h.time_source == "osd" else "") if h.time else ""
        clock = h.clock or {}
        when += (" *" if clock.get("recomputed") else "") + (" STALE" if clock.get("stale") else "") + (f" DST {clock['dst']}" if clock.get("dst") else "")
        plate = (f"{h.plate['text']} ({h.plate['confidence']:.2f})" if h.plate else "",) if plates else ()
        table.add_row(str(n), f"{h.score:.3f}", Text(printable(h.cls)), colours, *plate, Text(printable(h.camera)),
                      Text(printable(Path(h.video).name)), when, ",".join(str(round(v)) for v in h.bbox), Text(printable(h.thumb or "")))
    out.print(table)
    if any((h.clock or {}).get("recomputed") for h in hits):
        out.print("* time recomputed from the cameras file now (its timezone or clock offset changed since indexing; --json: clock)")
    if any((h.clock or {}).get("stale") for h in hits):
        out.print("STALE: the cameras file now gives these recordings clock settings their stored start cannot follow (indexed "
                  "before forensic kept it, read from an on-screen clock the file no longer uses, or from the file where it now lets "
                  "the clock give it; --json: clock.stale): re-index them")
    if any((h.clock or {}).get("dst") for h in hits):
        out.print("DST: the recorder's local start time fell in a daylight-saving change (gap: never happened; overlap: happened twice)")


# -- index: progress and summary ----------------------------------------------------------------------
@contextmanager
def index_progress(quiet: bool = False):
    """A callback for index events: a rich progress bar on a terminal (shown from the first event); plain
    log lines otherwise (cron, pipes)."""
    if not sys.stderr.isatty() or quiet:
        yield log_index_event
        return
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.text import Text

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                   console=console(stderr=True), transient=False)
    state = {"started": False, "task": None}

    def on_event(ev) -> None:
        if not state["started"]:
            bar.start()
            state["started"] = True
        name, task = escape(printable(ev.path.name)), state["task"]
        if ev.kind == "start":
            state["task"] = bar.add_task(name, total=max(ev.duration, 0.1), info="")
        elif ev.kind == "progress" and task is not None:
            bar.update(task, completed=ev.t, info=f"{ev.detections} objects")
        elif ev.kind == "done" and task is not None:
            bar.update(task, completed=ev.duration, info=f"{ev.detections} objects")
        elif ev.kind in ("failed", "skipped"):
            bar.console.print(Text(f"{ev.kind}: {printable(ev.message or ev.path.name)}", style="red" if ev.kind == "failed" else "dim"))
        elif ev.kind == "pending":
            bar.console.print(Text(printable(ev.message), style="yellow"))

    try:
        yield on_event
    finally:
        if state["started"]:
            bar.stop()


def log_index_event(ev) -> None:
    fields = {"event": ev.kind, "path": str(ev.path), "detections": ev.detections, "reason": ev.message}
    if ev.kind == "done":
        log.info("indexed %s (%.1f s, %d objects)", ev.path, ev.t, ev.detections, extra={"fields": fields})
    elif ev.kind == "skipped":
        log.info("%s %s (%s)", ev.kind, ev.path, ev.message, extra={"fields": fields})
    elif ev.kind == "pending":
        log.info("%s", ev.message, extra={"fields": fields})
    elif ev.kind == "failed":
        log.error("failed: %s", ev.message, extra={"fields": fields})


def print_index_summary(summary, index_root: Path) -> None:
    rtf = summary.video_seconds / summary.wall_seconds if summary.wall_seconds else 0.0
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in summary.stage_seconds.items())
    _say_err(f"{len(summary.indexed)} indexed, {len(summary.skipped)} skipped, {len(summary.pending)} still being written (left for the next run), "
               f"{len(summary.failed)} failed; "
               f"{summary.video_seconds:.1f} s of video, {summary.detections} objects in {summary.wall_seconds:.1f} s "
               f"({rtf:.1f}x real time; {summary.frames_sampled - summary.frames_skipped} of {summary.frames_sampled} sampled frames "
               f"detected, the others unchanged; {stages}) -> {index_root}")
    for path in summary.pending:
        _say_err(f"  {path}: still being written: left for the next run")
    for path, reason in summary.failed:
        _say_err(f"  failed: {reason}")


# -- the audit log -----------------------------------------------------------------------------------
def audit_line(e: dict) -> str:
    """One audit entry as a line: number, time, who, command, query, filters, hits and files."""
    q = e.get("query") or {}
    if e.get("command") in ("index", "prune", "verify"):  # the commands that change the index
        return (f"#{e.get('seq')} {str(e.get('time', ''))[:19]} {e.get('user')}@{e.get('host')} {e.get('command')} "
                + ", ".join(f"{k} {len(v) if isinstance(v, list) else v}" for k, v in e.items()
                            if k in ("indexed", "skipped", "failed", "removed", "before", "fixed") and v is not None))
    what = (f"\"{q['text']}\"" if q.get("text") else f"photo {q['image']}" if q.get("image") else
            f"similar to {q['similar_to']}" if q.get("similar_to") else f"hit {q['hit']}" if q.get("hit") else
            f"hits {', '.join(map(str, q['hits']))}" if q.get("hits") else "")
    flt = " ".join(f"--{k.replace('_', '-')} {_value_text(v)}" for k, v in (e.get("filters") or {}).items())
    files = e.get("exported") or []
    return (f"#{e.get('seq')} {str(e.get('time', ''))[:19]} {e.get('user')}@{e.get('host')} {e.get('command')} {what}"
            f"{' ' + flt if flt else ''} -> {e.get('hits')} hits" + (f", {len(files)} files" if files else "")
            + (f" in {e['folder']}" if e.get("folder") else f": {files[0]['path']}" if len(files) == 1 else ""))


def _value_text(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, list) else "" if v is True else str(v)


# -- export ----------------------------------------------------------------------------------------
def export_lines(manifest: dict, out: Path) -> list[str]:
    """What an export wrote: one line per hit (its clip, as cut and as asked), the manifest, and its audit entry
    (whose hash, the audit log's head just after the export, belongs in the case file)."""
    from forensic.evidence.export import MANIFEST
    from forensic.files import sha256_file

    lines = []
    for it in manifest["items"]:
        c, r = it["clip"], it["requested"]
        lines.append(f"hit {it['hit']['id']}: {c['file']} {c['start']:.3f}-{c['end']:.3f} s of {Path(it['source']['path']).name} "
                     f"(asked {r['start']:.3f}-{r['end']:.3f} s; {c['mode']}, {c['frames']} frames)")
    audit = manifest.get("audit") or {}
    return lines + [f"manifest: {out / MANIFEST} (sha256 {sha256_file(out / MANIFEST)}; audit entry {audit.get('seq')})",
                    f"audit log head: {audit.get('hash')} (entry {audit.get('seq')}): write it into the case file"]


def export_check_lines(result, folder: Path) -> list[str]:
    """export --verify: its problems, notes, and the verdict."""
    return ([f"problem: {line}" for line in result.problems] + [f"note: {line}" for line in result.notes]
            + [f"{folder}: {'ok' if result.ok else 'FAILED'}: {len(result.checked)} files match their SHA-256"
               + (f", {len(result.problems)} problems" if result.problems else "")])


# -- cameras ---------------------------------------------------------------------------------------
def camera_lines(source, cameras: list[dict]) -> list[str]:
    """`forensic cameras`: the cameras file, then each camera with its places and the videos it owns (each with
    its start and where it came from; and, for a camera with an on-screen clock, what the clock said)."""
    lines = [f"cameras file: {source or 'none'}"]
    for cam in cameras:
        places = f" ({', '.join(cam['places'])})" if cam["places"] else " (from its folder name)" if not cam["match"] else ""
        osd = cam.get("osd")
        clock = f"; on-screen clock {osd if isinstance(osd, str) else repr(osd['format'])}, time source {cam['time_source']}" if osd else ""
        lines.append(f"{cam['id']}: {cam['name']}{places}: {len(cam['videos'])} videos{clock}")
        for rec in cam.get("recordings") or [{"path": v} for v in cam["videos"]]:
            start = f"  start {local_time(rec['start'])} ({rec['time_source']})" if rec.get("start") else ""
            lines.append(f"    {rec['path']}{start}")
            if rec.get("clock"):
                lines.append("      " + clock_line(rec["clock"]))
    return lines


def local_time(iso: str) -> str:
    """An ISO date-time as the camera's local time to the millisecond, its offset left out
    ('2018-04-20T05:46:00+07:00' -> '2018-04-20T05:46:00.000'): one width for every recording."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(iso)).isoformat(timespec="milliseconds")[:23]
    except ValueError:
        return str(iso)


def clock_line(clock: dict) -> str:
    """What a recording's on-screen clock said: its start and how far the file's time is from it, or why not used."""
    if clock.get("start") is None:
        return f"on-screen clock {clock.get('status')}: {clock.get('reason')}"
    off = clock.get("disagreement") or 0.0
    return (f"on-screen clock {local_time(clock['start'])} (±{clock.get('uncertainty') or 0:.1f} s, {clock.get('format')!r} at {clock.get('region')}), "
            f"{'used' if clock.get('used') else 'not used'}; "
            f"the {clock.get('file_source')} time {str(clock.get('file_start'))[:19]} is {abs(off):.0f} s {'behind' if off > 0 else 'ahead of'} it")
