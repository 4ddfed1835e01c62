"""Command line: `forensic index` and `forensic search`. Only this module knows click, and rich only here and in
forensic.render (its output). Commands parse their arguments, call forensic.api, and show the result."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from forensic import __version__
from forensic.errors import ForensicError
from forensic.printable import printable
from forensic.settings import Settings

log = logging.getLogger("forensic")

EXIT_OK, EXIT_FAILED_FILES, EXIT_USAGE = 0, 1, 2


class ForensicGroup(click.Group):
    """Turns ForensicError into one line on stderr and exit code 2 (no traceback for user mistakes)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ForensicError as e:
            _say(f"forensic: error: {e}", err=True)
            sys.exit(EXIT_USAGE)


def _say(text, err: bool = False) -> None:
    """One line of output: names from outside (files, cameras, queries) cannot break it or forge another."""
    click.echo(printable(text), err=err)


def _settings(ctx, **overrides) -> Settings:
    return Settings.from_env(**ctx.obj, **overrides)


def model_options(f):
    for opt in reversed([
        click.option("--detector", help="Detector weights: a file name in the models folder, or a path. [yolo11n.pt]"),
        click.option("--device", help="auto, cpu or cuda[:N]. [auto]"),
        click.option("--backend", type=click.Choice(["auto", "torch", "openvino"]),
                     help="Detector backend; auto uses OpenVINO on a CPU when the package and an export are present. [auto]"),
        click.option("--imgsz", type=int, help="Detector input size in pixels (multiple of 32). [640]"),
        click.option("--pose/--no-pose", default=None, help="Clothing colours from pose keypoints on each person's best view "
                     "(needs yolo11n-pose.pt in the models folder). [on]"),
        click.option("--clip", "clip", type=click.Choice(["auto", "on", "off"]), help="Use CLIP: when weights are found, required, or never. [auto]"),
        click.option("--clip-model", help="open_clip model name. [ViT-B-32]"),
        click.option("--clip-pretrained", help="open_clip pretrained tag (downloaded only with --download). [laion2b_s34b_b79k]"),
        click.option("--clip-checkpoint", type=click.Path(path_type=Path, readable=False), help="Local open_clip checkpoint file (offline)."),
    ]):
        f = opt(f)
    return f


@click.group(cls=ForensicGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--index", "index", type=click.Path(path_type=Path), help="Index folder. [$FORENSIC_INDEX or ./forensic-index]")
@click.option("--models", type=click.Path(path_type=Path), help="Offline models folder, checked before any download. [$FORENSIC_MODELS]")
@click.option("--download", is_flag=True, default=None, help="Allow downloading missing model weights (otherwise every run is offline).")
@click.option("--cameras", type=click.Path(path_type=Path, readable=False), help="Cameras file (TOML). [$FORENSIC_CAMERAS or cameras.toml in the index folder]")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the final summary.")
@click.option("--log-file", type=click.Path(path_type=Path), help="Also append log records to this file.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", help="json: one JSON object per line, for log collectors.")
@click.option("--force", is_flag=True, help="Replace existing output files (--html, --out; here also a --log-file that is not a forensic log).")
@click.version_option(__version__, prog_name="forensic")
@click.pass_context
def cli(ctx, index, models, download, cameras, verbose, quiet, log_file, log_format, force):
    """Search recorded CCTV footage by description or by photo, on this machine, offline.

    Outputs never replace an existing file without --force, and are never written inside the index
    folder (exit 2, one line)."""
    os.umask(0o077)  # index files and thumbnails are for their owner only
    # forensic's own progress lines show by default (cron logs); other libraries only speak up with -v
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    if log_file is not None:
        _check_log_file(log_file, _index_root(index), force)
    _setup_logging(level, logging.ERROR if quiet else min(level, logging.INFO), log_file, log_format)
    ctx.obj = {"index": index, "models": models, "download": download, "cameras": cameras}
    ctx.meta["force"] = force
    ctx.meta["quiet"] = quiet
    ctx.meta["json_log"] = log_format == "json"


class _JsonFormatter(logging.Formatter):
    """One JSON object per line; control characters in the message and fields shown as escapes (\\n, \\x1b),
    as in the text format, so a file name reads the same in both."""

    def format(self, record):
        out = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname.lower(),
               "logger": record.name, "message": printable(record.getMessage())}
        out.update({k: printable(v) if isinstance(v, str) else v for k, v in getattr(record, "fields", {}).items()})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, one line per record: a newline or escape sequence in the message (a
    file name) is shown as \\n, \\x1b and cannot forge another record. A traceback keeps its lines."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record):
        record.message = printable(record.message)
        return super().formatMessage(record)


def _index_root(index: Path | None) -> Path:
    """The index folder as Settings will name it (--index, $FORENSIC_INDEX or the default)."""
    return Path(index or os.environ.get("FORENSIC_INDEX") or Settings.index).expanduser()


_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: ")


def _check_log_file(path: Path, index_root: Path, force: bool) -> None:
    """--log-file appends, so a forensic log of earlier runs (text or JSON lines) is continued; any other
    existing file is refused unless --force, and a file inside the index folder always."""
    from forensic.files import inside

    if inside(path, index_root):
        raise ForensicError(f"--log-file {path} is inside the index folder {index_root}: only the index writes there; "
                            "keep the log elsewhere")
    if path.is_dir():
        raise ForensicError(f"--log-file {path} is a folder: give a file name")
    if force or not path.is_file() or path.stat().st_size == 0:
        return
    try:
        with open(path, "rb") as f:
            first = f.readline(65536).decode("utf-8").rstrip("\n")
    except (OSError, UnicodeDecodeError):
        first = ""
    if _LOG_LINE.match(first):
        return
    try:
        record = json.loads(first)
    except ValueError:
        record = None
    if not (isinstance(record, dict) and {"time", "level", "logger", "message"} <= record.keys()):
        raise ForensicError(f"--log-file {path} already exists and is not a forensic log: give a new file name, "
                            "or --force to append to it")


def _force(ctx) -> bool:
    """--force, given before the command (forensic --force show ...) or after it (show ... --force)."""
    return bool(ctx.params.get("force") or ctx.find_root().meta.get("force"))


def _setup_logging(level: int, own_level: int, log_file: Path | None, log_format: str) -> None:
    formatter = _JsonFormatter() if log_format == "json" else _TextFormatter()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError as e:
            raise ForensicError(f"cannot open log file {log_file}: {e.strerror}") from None
    root = logging.getLogger()
    for h in handlers:
        h.setFormatter(formatter)
        root.addHandler(h)
    root.setLevel(level)
    logging.getLogger("forensic").setLevel(own_level)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))  # each file is checked in the run, one line per failure
@click.option("--fps", type=float, help="Frames sampled per second of video. [2]")
@click.option("--conf", type=float, help="Detector confidence threshold. [0.3]")
@click.option("--batch", type=int, help="Frames per detector batch. [4]")
@click.option("--keyframes", is_flag=True, default=None, help="Decode keyframes only: several times faster on recordings with a keyframe "
              "every 1-2 s, but objects seen only between keyframes are missed (needs PyAV).")
@click.option("--min-motion", type=float, help="Share of the picture that must change since the last detected frame for the detector "
              "to run (0: detect every sampled frame). [0.0005]")
@click.option("--max-skip", type=float, help="Seconds: detect at least this often, motion or not. [4]")
@click.option("--settle", type=float, help="Seconds: files in scanned folders modified more recently are left for the next run. [120]")
@click.option("--wait", is_flag=True, help="If another index run is writing, wait for it instead of exiting.")
@click.option("--plates/--no-plates", "plates", default=None,
              help="Read licence plates of vehicles (when the reader is installed: pip install 'forensic[plates]'). [on]")
@model_options
@click.pass_context
def index(ctx, paths, wait, **options):
    """Index video files or folders (recursively): detect people and vehicles, store colours and vectors.

    Exit code: 0 all indexed, 1 some files failed (the others are indexed), 2 usage or configuration error.
    """
    from forensic.api import index_paths
    from forensic.models import build_models

    settings = _settings(ctx, **options)
    models = build_models(settings)  # missing weights are reported before any progress is shown
    with _progress(quiet=ctx.meta["quiet"]) as on_event:
        summary = index_paths(list(paths), settings, models=models, wait=wait, on_event=on_event)
    _print_summary(summary, settings.index)
    sys.exit(EXIT_FAILED_FILES if summary.failed else EXIT_OK)


@contextmanager
def _progress(quiet: bool = False):
    """A callback for index events: a rich progress bar on a terminal (shown from the first event); plain
    log lines otherwise (cron, pipes)."""
    if not sys.stderr.isatty() or quiet:
        yield _log_event
        return
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.text import Text

    from forensic.render import console

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

    try:
        yield on_event
    finally:
        if state["started"]:
            bar.stop()


def _log_event(ev) -> None:
    fields = {"event": ev.kind, "path": str(ev.path), "detections": ev.detections, "reason": ev.message}
    if ev.kind == "done":
        log.info("indexed %s (%.1f s, %d objects)", ev.path, ev.t, ev.detections, extra={"fields": fields})
    elif ev.kind in ("skipped", "pending"):
        log.info("%s %s (%s)", ev.kind, ev.path, ev.message, extra={"fields": fields})
    elif ev.kind == "failed":
        log.error("failed: %s", ev.message, extra={"fields": fields})


def _print_summary(summary, index_root: Path) -> None:
    rtf = summary.video_seconds / summary.wall_seconds if summary.wall_seconds else 0.0
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in summary.stage_seconds.items())
    _say(f"{len(summary.indexed)} indexed, {len(summary.skipped)} skipped, {len(summary.pending)} left for the next run, "
               f"{len(summary.failed)} failed; "
               f"{summary.video_seconds:.1f} s of video, {summary.detections} objects in {summary.wall_seconds:.1f} s "
               f"({rtf:.1f}x real time; {summary.frames_sampled - summary.frames_skipped} of {summary.frames_sampled} sampled frames "
               f"detected, the others unchanged; {stages}) -> {index_root}", err=True)
    for path, reason in summary.failed:
        _say(f"  failed: {reason}", err=True)


def filter_options(f):
    for opt in reversed([
        click.option("--camera", "camera", multiple=True, help="Only this camera (id, name or place alias); repeatable."),
        click.option("--since", help="From this time: YYYY-MM-DD[THH:MM], HH:MM (today) or 'yesterday'."),
        click.option("--until", help="Until this time (same forms)."),
        click.option("--min-score", type=float, default=0.0, help="Drop hits scoring below this."),
        click.option("--sort", type=click.Choice(["relevance", "time"]), default="relevance", show_default=True),
        click.option("--limit", type=int, default=20, show_default=True, help="Number of hits."),
        click.option("--per-frame", is_flag=True, help="Single detections instead of one hit per appearance (track)."),
        click.option("--any-class", is_flag=True, help="Photo or similar search: do not keep to the subject's class."),
        click.option("--json", "as_json", is_flag=True, help="Print hits as a JSON array (stable keys)."),
    ]):
        f = opt(f)
    return f


def html_option(f):
    """--html FILE on search/similar; `_output` writes the report (the command body never sees the flag)."""
    import functools

    @functools.wraps(f)
    def wrapper(*args, html=None, force=False, **kwargs):
        return f(*args, **kwargs)

    wrapper = click.option("--force", is_flag=True, help="Replace an existing --html file.")(wrapper)
    return click.option("--html", "html", type=click.Path(path_type=Path, dir_okay=False),
                        help="Also write a self-contained HTML report (pictures, sortable, contact sheet per camera); "
                             "an existing file is replaced only with --force.")(wrapper)


@cli.command()
@click.argument("text", required=False)
@click.option("--image", "image", type=click.Path(path_type=Path, readable=False), help="Find the person or vehicle in this photo.")
@click.option("--class", "classes", multiple=True, help="Only this class (person, bicycle, car, motorcycle, bus, truck); repeatable.")
@click.option("--color", "colors", multiple=True, help="Only objects of this colour; repeatable.")
@click.option("--plate", "plates", multiple=True,
              help="Licence plate, full or partial, ? and * wildcards (30F-621.51, '*621.5?', 29-B1): matching plates rank first; repeatable.")
@filter_options
@model_options
@html_option
@click.pass_context
def search(ctx, text, image, classes, colors, plates, camera, since, until, min_score, sort, limit, per_frame, any_class, as_json, **options):
    """Search by description (English or Vietnamese) or by photo.

    \b
    Examples:
      forensic search "red motorbike"
      forensic search "xe máy màu đỏ gần ngã tư Trực Cát đêm qua"
      forensic search "người mặc áo trắng" --since 2026-11-21T20:00 --until 2026-11-21T22:00
      forensic search --image suspect.jpg --camera truccat
      forensic search "taxi xanh biển số 30F-621.51"
      forensic search --plate "*621.5?"
    """
    from forensic.api import SearchRequest

    request = SearchRequest(text=text, image=image, classes=classes, colors=colors, plates=plates, cameras=camera, since=since, until=until,
                            limit=limit, per_frame=per_frame, any_class=any_class, min_score=min_score, sort=sort)
    _search_and_show(ctx, request, as_json, options)


@cli.command()
@click.argument("hit_id", type=int)
@filter_options
@model_options
@html_option
@click.pass_context
def similar(ctx, hit_id, camera, since, until, min_score, sort, limit, per_frame, any_class, as_json, **options):
    """Use a hit (its whole appearance) as the query: the same object first, then look-alikes."""
    from forensic.api import SearchRequest

    request = SearchRequest(similar_to=hit_id, cameras=camera, since=since, until=until, limit=limit, per_frame=per_frame,
                            any_class=any_class, min_score=min_score, sort=sort)
    _search_and_show(ctx, request, as_json, options)


def _search_and_show(ctx, request, as_json: bool, options: dict) -> None:
    """search/similar: run the request, write the --html report and the audit entry, then show the hits."""
    from forensic import render
    from forensic.api import run_search

    request.validate()  # a malformed request is one line, before settings are read or models loaded
    settings = _settings(ctx, **options)
    html = ctx.params.get("html")
    if html is not None:  # before the search: a report that cannot be written is refused at once
        from forensic.files import check_output

        check_output(Path(html), settings.index, force=_force(ctx), option="--html")
    result = run_search(request, settings)
    _report_and_audit(ctx, settings, result)
    if as_json:
        click.echo(render.understood_json(result.understood), err=True)
        click.echo(render.hits_json(result.hits))
    else:
        render.print_hits(result.understood, result.hits)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def cameras(ctx, as_json):
    """List the cameras (from the cameras file) and the indexed videos each one owns."""
    from forensic.cameras import load_cameras
    from forensic.index.store import IndexStore

    settings = _settings(ctx)
    index_exists = (settings.index / "index.sqlite").exists()
    store = IndexStore(settings.index) if index_exists else None
    config = load_cameras(settings.cameras, settings.index if index_exists else None)
    videos = store.videos("done") if store else []
    if store:
        store.close()
    out = []
    for cam in config.cameras:
        owned = [r["path"] for r in videos if r["camera"] == cam.id or cam.owns(r["path"])]
        out.append({"id": cam.id, "name": cam.name, "places": list(cam.places), "match": list(cam.match), "timezone": cam.timezone,
                    "clock_offset": cam.clock_offset, "videos": owned})
    configured = {c.id for c in config.cameras}
    for name in sorted({r["camera"] for r in videos} - configured):
        out.append({"id": name, "name": name, "places": [], "match": [], "timezone": None, "clock_offset": 0,
                    "videos": [r["path"] for r in videos if r["camera"] == name and not any(c.owns(r["path"]) for c in config.cameras)]})
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    _say(f"cameras file: {config.source or 'none'}")
    for cam in out:
        places = f" ({', '.join(cam['places'])})" if cam["places"] else " (from its folder name)" if not cam["match"] else ""
        _say(f"{cam['id']}: {cam['name']}{places}: {len(cam['videos'])} videos")
        for v in cam["videos"]:
            _say(f"    {v}")


@cli.command()
@click.option("--repair", is_flag=True, help="Fix what can be fixed without the source videos.")
@click.pass_context
def verify(ctx, repair):
    """Check the index: rows vs vectors vs thumbnails vs FAISS files. Exit 1 if problems remain."""
    from forensic.index.store import IndexStore

    settings = _settings(ctx)
    with IndexStore(settings.index, writer=repair) as store:
        problems = store.verify(repair=repair)
    for problem, fixed in problems:
        _say(f"{'fixed' if fixed else 'problem'}: {problem}")
    if not problems:
        _say(f"{settings.index}: ok")
    sys.exit(EXIT_FAILED_FILES if any(not fixed for _, fixed in problems) else EXIT_OK)


@cli.command()
@click.option("--older-than", help="Age such as 30d, 12h or 2w (since the footage was indexed; see --by).")
@click.option("--before", help="Date or date-time (YYYY-MM-DD[THH:MM]).")
@click.option("--camera", help="Only this camera's footage.")
@click.option("--by", type=click.Choice(["indexed", "recorded"]), default="indexed", show_default=True,
              help="Judge age by when the footage was indexed, or by its recorded time (the recorder's clock, which may be years off).")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("-y", "--yes", is_flag=True, help="Remove without asking (for cron). Without it a terminal is asked to confirm, "
              "and anywhere else nothing is removed (a dry run).")
@click.option("--wait", is_flag=True, help="If an index run is writing, wait for it.")
@click.pass_context
def prune(ctx, older_than, before, camera, by, dry_run, yes, wait):
    """Remove old footage from the index: rows, vectors and thumbnails, reclaiming their space.

    Lists each video it removes (or would remove); removes only with --yes or when confirmed on a terminal.
    """
    from forensic.index.store import IndexStore

    cutoff = _cutoff(older_than, before)
    settings = _settings(ctx)
    if not (settings.index / "index.sqlite").exists():
        raise ForensicError(f"no index at {settings.index}")
    what = f"{'indexed' if by == 'indexed' else 'recorded'} before {cutoff}" + (f" on camera {camera}" if camera else "")
    ask = not dry_run and not yes and _interactive()
    with IndexStore(settings.index, writer=not dry_run, wait=wait) as store:
        candidates = store.prune_candidates(cutoff, camera, by)
        doing = "removing" if yes and not dry_run else "would remove"
        for r in candidates:
            _say(f"{doing}: {r['path']} (camera {r['camera']}, recorded {(r['start_time'] or '?')[:19]}, "
                 f"indexed {(r['indexed_at'] or 'never')[:19]}, {r['detections']} detections)")
        total = sum(r["detections"] for r in candidates)
        if not candidates:
            _say(f"nothing to remove: no videos {what}")
            return
        if dry_run or not (yes or (ask and click.confirm(f"remove these {len(candidates)} videos?", default=False, err=True))):
            _say(f"dry run: {len(candidates)} videos and {total} detections {what} would be removed; nothing removed"
                 + ("" if dry_run or ask else " (add --yes to remove)"))
            return
        videos, detections = store.prune(cutoff, camera, by)
    _say(f"removed {videos} videos and {detections} detections {what}")


def _interactive() -> bool:
    """Whether a person can answer a question (stdin and stderr are terminals)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _cutoff(older_than: str | None, before: str | None) -> str:
    import re
    from datetime import datetime, timedelta

    if bool(older_than) == bool(before):
        raise ForensicError("give exactly one of --older-than (e.g. 30d) or --before (YYYY-MM-DD)")
    if before:
        try:
            return datetime.fromisoformat(before).replace(tzinfo=None).isoformat()
        except ValueError:
            raise ForensicError(f"--before {before!r} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", older_than)
    if not m:
        raise ForensicError(f"--older-than {older_than!r}: use a number and a unit (s, m, h, d, w), e.g. 30d")
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
    return (datetime.now() - timedelta(seconds=float(m.group(1)) * unit)).isoformat(timespec="seconds")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def stats(ctx, as_json):
    """Counts, sizes, cameras, time span and models of the index."""
    from forensic.index.store import IndexStore

    with IndexStore(_settings(ctx).index) as store:
        info = store.stats()
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=1))
        return
    for key, value in info.items():
        _say(f"{key}: {value if not isinstance(value, dict) else ', '.join(f'{k}={v}' for k, v in value.items())}")


# -- evidence: show, export, audit, and search --html ----------------------------------------------
def _audit(settings: Settings, record: dict) -> dict:
    from forensic.evidence.audit import AuditLog

    return AuditLog(settings.index).append(record)


def _exported(path: Path) -> dict:
    from forensic.evidence.export import sha256_file

    return {"path": str(Path(path).resolve()), "sha256": sha256_file(path)}


def _report_and_audit(ctx, settings: Settings, result) -> None:
    """search/similar: write the --html report, then the audit entry (before the hits are shown)."""
    record = result.record()
    exported = []
    html = ctx.params.get("html")
    if html is not None:
        _write_html(settings, Path(html), result, record["filters"], force=_force(ctx))
        exported.append(_exported(html))
    _audit(settings, {"command": result.request.command, **record, "hits": len(result.hits),
                      "hit_ids": [h.id for h in result.hits], "exported": exported})
    if html is not None:
        _say(f"report: {html}", err=True)


def _write_html(settings: Settings, path: Path, result, filters: dict, force: bool = False) -> None:
    from datetime import datetime

    from forensic.cameras import load_cameras
    from forensic.evidence.audit import whoami
    from forensic.evidence.report import ReportInfo, prepare, render, write_report

    request, understood = result.request, result.understood
    picture = _query_picture(request.image, understood.get("box")) if request.kind == "photo" else None
    who = whoami()
    info = ReportInfo(title=request.title, command=request.command, understood={k: v for k, v in understood.items() if k != "box"},
                      filters={k.replace("_", " "): v for k, v in filters.items()}, sort=request.sort, index=str(settings.index.resolve()),
                      generated_at=datetime.now().astimezone().isoformat(sep=" ", timespec="minutes"), generated_by=f"{who['user']}@{who['host']}",
                      version=__version__, query_picture=picture)
    cards = prepare(result.hits, load_cameras(settings.cameras, settings.index))
    write_report(path, render(cards, info), force=force, index_root=settings.index)


def _query_picture(path: Path, box) -> bytes | None:
    import cv2

    from forensic.evidence.frames import draw_box, encode_jpeg
    from forensic.images import shrink

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None
    if box:
        draw_box(image, box)
    return encode_jpeg(shrink(image, 360), 85)


@cli.command()
@click.argument("hit_id", type=int)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Image to write: .jpg, .png or .webp. [hit-ID.jpg]")
@click.option("--context", type=float, help="Seconds before and after the hit: a strip of frames instead of one frame.")
@click.option("--step", type=float, default=1.0, show_default=True, help="Seconds between the frames of the --context strip.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.pass_context
def show(ctx, hit_id, out, context, step, force):
    """The full frame of a hit (an 'id' from search) with its box and a caption: camera, time, class, colours.

    \b
    Examples:
      forensic show 1234                       # writes hit-1234.jpg
      forensic show 1234 --out frame.png
      forensic show 1234 --context 3           # frames from 3 s before to 3 s after: hit-1234-context.jpg
    """
    from forensic.api import show_hit

    settings = _settings(ctx)
    out = show_hit(hit_id, out, settings, context=context, step=step, force=_force(ctx))
    _audit(settings, {"command": "show", "query": {"hit": hit_id, "context": context, "step": step if context is not None else None},
                      "hits": 1, "hit_ids": [hit_id], "exported": [_exported(out)]})
    _say(str(out))


@cli.command()
@click.argument("hits", nargs=-1, metavar="[HIT_ID]... | --top N [DESCRIPTION]")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="New folder for the clips, frames and manifest.")
@click.option("--before", type=float, default=10.0, show_default=True, help="Seconds of video before the hit.")
@click.option("--after", type=float, default=10.0, show_default=True, help="Seconds of video after the hit.")
@click.option("--exact", is_flag=True, help="Re-encode (libx264) so the clip starts and ends exactly; default: stream copy from the keyframe before.")
@click.option("--top", type=int, help="Export the best N hits of a search; the arguments are then its description (or give --image).")
@click.option("--image", type=click.Path(path_type=Path, readable=False), help="With --top: search by this photo.")
@click.option("--class", "classes", multiple=True, help="With --top: only this class; repeatable.")
@click.option("--color", "colors", multiple=True, help="With --top: only this colour; repeatable.")
@click.option("--camera", "camera", multiple=True, help="With --top: only this camera; repeatable.")
@click.option("--since", help="With --top: from this time.")
@click.option("--until", help="With --top: until this time.")
@click.option("--min-score", type=float, default=0.0, help="With --top: drop hits scoring below this.")
@click.option("--per-frame", is_flag=True, help="With --top: single detections instead of appearances.")
@click.option("--any-class", is_flag=True, help="With --top --image: do not keep to the subject's class.")
@click.option("--verify", "verify_dir", type=click.Path(path_type=Path, file_okay=False), help="Re-check the hashes of an export folder instead.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest (or the verification) as JSON.")
@model_options
@click.pass_context
def export(ctx, hits, out, before, after, exact, top, image, classes, colors, camera, since, until, min_score, per_frame, any_class,
           verify_dir, as_json, **options):
    """Keep hits as evidence: the clip around each hit cut from the original recording (ffmpeg), its frame,
    thumbnail and a manifest with SHA-256 hashes. `--verify FOLDER` re-checks an export.

    \b
    Examples:
      forensic export 1234 --out case-17/              # 10 s before and after
      forensic export 1234 1240 --out case-17/ --before 5 --after 20 --exact
      forensic export --top 5 --out case-18/ "xe máy màu đỏ gần Trực Cát"
      forensic export --top 3 --out case-19/ --image suspect.jpg
      forensic export --verify case-17/
    """
    if verify_dir is not None:
        _verify_export(ctx, verify_dir, as_json)
        return
    from forensic.api import SearchRequest, export_hits, run_search
    from forensic.evidence.export import MANIFEST
    from forensic.evidence.media import find_tool

    if out is None:
        raise ForensicError("--out FOLDER is required (a new folder for the export), or use --verify FOLDER")
    find_tool("ffmpeg")  # before any search or model loading
    find_tool("ffprobe")
    settings = _settings(ctx, **options)
    from forensic.files import inside

    if inside(out, settings.index):
        raise ForensicError(f"--out {out} is inside the index folder {settings.index}: only the index writes there; "
                            "export into a new folder elsewhere")
    found_by, query, filters = None, None, {}
    if top is not None:
        if top < 1:
            raise ForensicError("--top must be at least 1")
        request = SearchRequest(text=" ".join(hits) or None, image=image, classes=classes, colors=colors, cameras=camera, since=since,
                                until=until, min_score=min_score, limit=top, per_frame=per_frame, any_class=any_class)
        found_by = run_search(request, settings)
        if not found_by.hits:
            raise ForensicError("the search found nothing to export")
        chosen = [h.id for h in found_by.hits]
        record = found_by.record()
        query, filters = record["query"], record["filters"]
    else:
        if not hits:
            raise ForensicError("give the HIT_ID(s) to export (the 'id' of search results), or --top N with a description")
        if image or classes or colors or camera or since or until:
            raise ForensicError("search options (--image, --class, --camera, ...) go with --top N")
        try:
            chosen = list(dict.fromkeys(int(h) for h in hits))
        except ValueError:
            raise ForensicError(f"HIT_ID must be a number, got {' '.join(hits)!r} (to export a search's best hits use --top N)") from None
    manifest = export_hits(found_by.hits if found_by else chosen, out, settings, before=before, after=after, exact=exact,
                           found_by=found_by)
    files = [_exported(out / f["file"]) for it in manifest["items"] for f in it["files"]] + [_exported(out / MANIFEST)]
    entry = _audit(settings, {"command": "export", "query": query or {"hits": chosen}, "filters": filters,
                              "hits": len(chosen), "hit_ids": chosen, "folder": str(out.resolve()),
                              "exact": exact, "before": before, "after": after, "exported": files})
    if as_json:
        click.echo(json.dumps(manifest, ensure_ascii=False, indent=1))
        return
    for it in manifest["items"]:
        c, r = it["clip"], it["requested"]
        _say(f"hit {it['hit']['id']}: {c['file']} {c['start']:.3f}-{c['end']:.3f} s of {Path(it['source']['path']).name} "
                   f"(asked {r['start']:.3f}-{r['end']:.3f} s; {c['mode']}, {c['frames']} frames)")
    _say(f"manifest: {out / MANIFEST} (sha256 {files[-1]['sha256']}; audit entry {entry['seq']})")


def _verify_export(ctx, folder: Path, as_json: bool) -> None:
    from forensic.evidence.audit import AuditLog
    from forensic.evidence.export import MANIFEST, verify_export

    if not folder.is_dir():
        raise ForensicError(f"{folder} is not a folder")
    result = verify_export(folder)
    settings = _settings(ctx)
    if result.manifest_sha256 and (settings.index / "audit.jsonl").exists():
        entry = AuditLog(settings.index).find_last(lambda e: e.get("command") == "export" and e.get("folder") == str(folder.resolve()))
        recorded = next((f["sha256"] for f in (entry or {}).get("exported", []) if f.get("path", "").endswith("/" + MANIFEST)), None)
        if entry is None:
            result.notes.append(f"no export into this folder in the audit log of {settings.index}")
        elif recorded != result.manifest_sha256:
            result.problems.append(f"{MANIFEST} differs from the one recorded in audit entry {entry['seq']}")
            result.ok = False
        else:
            result.notes.append(f"{MANIFEST} is the one recorded in audit entry {entry['seq']} ({entry['time']}, {entry['user']})")
    if as_json:
        click.echo(json.dumps({"ok": result.ok, "checked": result.checked, "problems": result.problems, "notes": result.notes,
                               "manifest_sha256": result.manifest_sha256}, ensure_ascii=False, indent=1))
    else:
        for line in result.problems:
            _say(f"problem: {line}")
        for line in result.notes:
            _say(f"note: {line}")
        _say(f"{folder}: {'ok' if result.ok else 'FAILED'}: {len(result.checked)} files match their SHA-256"
                   + (f", {len(result.problems)} problems" if result.problems else ""))
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED_FILES)


@cli.command()
@click.option("--verify", "check", is_flag=True, help="Check the hash chain; exit 1 at the first bad line.")
@click.option("--tail", type=int, help="Only the last N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as stored (JSON lines).")
@click.pass_context
def audit(ctx, check, tail, as_json):
    """The audit log: every search, show and export (who, when, what, how many hits, which files)."""
    from forensic.evidence.audit import AuditLog

    settings = _settings(ctx)
    if not settings.index.is_dir():
        raise ForensicError(f"no index at {settings.index}")
    log_ = AuditLog(settings.index)
    if check:
        result = log_.verify()
        if result.ok:
            _say(f"audit log ok: {result.entries} entries, head {result.head or 'none'}")
            sys.exit(EXIT_OK)
        _say(f"audit log BROKEN: {result.reason} (the {result.bad_line - 1} entries before it chain correctly)"
                   if result.bad_line else f"audit log BROKEN: {result.reason}")
        sys.exit(EXIT_FAILED_FILES)
    entries = list(log_.entries())
    if tail is not None:
        entries = entries[-tail:] if tail > 0 else []
    for e in entries:
        if as_json:
            click.echo(json.dumps(e, ensure_ascii=False))
            continue
        q = e.get("query") or {}
        what = (f"\"{q['text']}\"" if q.get("text") else f"photo {q['image']}" if q.get("image") else
                f"similar to {q['similar_to']}" if q.get("similar_to") else f"hit {q['hit']}" if q.get("hit") else
                f"hits {', '.join(map(str, q['hits']))}" if q.get("hits") else "")
        flt = " ".join(f"--{k.replace('_', '-')} {_value_text(v)}" for k, v in (e.get("filters") or {}).items())
        files = e.get("exported") or []
        _say(f"#{e.get('seq')} {str(e.get('time', ''))[:19]} {e.get('user')}@{e.get('host')} {e.get('command')} {what}"
                   f"{' ' + flt if flt else ''} -> {e.get('hits')} hits" + (f", {len(files)} files" if files else "")
                   + (f" in {e['folder']}" if e.get("folder") else f": {files[0]['path']}" if len(files) == 1 else ""))
    if not as_json:
        _say(f"{len(entries)} entries in {log_.path}" if entries else f"no audit entries in {settings.index}")


def _value_text(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, list) else "" if v is True else str(v)


def main() -> None:
    cli(prog_name="forensic")


if __name__ == "__main__":
    main()
