"""Command line: `forensic index` and `forensic search`. Only this module knows click and rich."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from forensic import __version__
from forensic.errors import ForensicError
from forensic.settings import Settings

log = logging.getLogger("forensic")

EXIT_OK, EXIT_FAILED_FILES, EXIT_USAGE = 0, 1, 2


class ForensicGroup(click.Group):
    """Turns ForensicError into one line on stderr and exit code 2 (no traceback for user mistakes)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ForensicError as e:
            click.echo(f"forensic: error: {e}", err=True)
            sys.exit(EXIT_USAGE)


def _settings(ctx, **overrides) -> Settings:
    return Settings.from_env(**ctx.obj, **overrides)


def model_options(f):
    for opt in reversed([
        click.option("--detector", help="Detector weights: a file name in the models folder, or a path. [yolo11n.pt]"),
        click.option("--device", help="auto, cpu or cuda[:N]. [auto]"),
        click.option("--imgsz", type=int, help="Detector input size in pixels (multiple of 32). [640]"),
        click.option("--clip", "clip", type=click.Choice(["auto", "on", "off"]), help="Use CLIP: when weights are found, required, or never. [auto]"),
        click.option("--clip-model", help="open_clip model name. [ViT-B-32]"),
        click.option("--clip-pretrained", help="open_clip pretrained tag (downloaded only with --download). [laion2b_s34b_b79k]"),
        click.option("--clip-checkpoint", type=click.Path(path_type=Path), help="Local open_clip checkpoint file (offline)."),
    ]):
        f = opt(f)
    return f


@click.group(cls=ForensicGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--index", "index", type=click.Path(path_type=Path), help="Index folder. [$FORENSIC_INDEX or ./forensic-index]")
@click.option("--models", type=click.Path(path_type=Path), help="Offline models folder, checked before any download. [$FORENSIC_MODELS]")
@click.option("--download", is_flag=True, default=None, help="Allow downloading missing model weights (otherwise every run is offline).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="forensic")
@click.pass_context
def cli(ctx, index, models, download, verbose):
    """Search recorded CCTV footage by description or by photo, on this machine, offline."""
    os.umask(0o077)  # index files and thumbnails are for their owner only
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = {"index": index, "models": models, "download": download}


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--fps", type=float, help="Frames sampled per second of video. [2]")
@click.option("--conf", type=float, help="Detector confidence threshold. [0.3]")
@click.option("--batch", type=int, help="Frames per detector batch. [4]")
@model_options
@click.pass_context
def index(ctx, paths, **options):
    """Index video files or folders (recursively): detect people and vehicles, store colours and vectors.

    Exit code: 0 all indexed, 1 some files failed (the others are indexed), 2 usage or configuration error.
    """
    from forensic.index.pipeline import IndexSummary, index_videos
    from forensic.index.store import IndexStore
    from forensic.models import build_models

    settings = _settings(ctx, **options)
    models = build_models(settings)
    summary = IndexSummary()
    with IndexStore(settings.index, writer=True) as store:
        events = index_videos(list(paths), store, models, settings, summary)
        _show_progress(events)
    _print_summary(summary, settings.index)
    sys.exit(EXIT_FAILED_FILES if summary.failed else EXIT_OK)


def _show_progress(events) -> None:
    """A rich progress bar on a terminal; plain log lines otherwise (cron, pipes)."""
    if sys.stderr.isatty():
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                      console=_console(stderr=True), transient=False) as bar:
            task = None
            for ev in events:
                name = ev.path.name
                if ev.kind == "start":
                    task = bar.add_task(name, total=max(ev.duration, 0.1), info="")
                elif ev.kind == "progress" and task is not None:
                    bar.update(task, completed=ev.t, info=f"{ev.detections} objects")
                elif ev.kind == "done" and task is not None:
                    bar.update(task, completed=ev.duration, info=f"{ev.detections} objects")
                elif ev.kind in ("failed", "skipped"):
                    bar.console.print(f"[{'red' if ev.kind == 'failed' else 'dim'}]{ev.kind}: {ev.message or name}")
        return
    for ev in events:
        if ev.kind == "done":
            click.echo(f"indexed {ev.path} ({ev.t:.1f} s, {ev.detections} objects)", err=True)
        elif ev.kind == "skipped":
            click.echo(f"skipped {ev.path} ({ev.message})", err=True)
        elif ev.kind == "failed":
            click.echo(f"failed: {ev.message}", err=True)


def _print_summary(summary, index_root: Path) -> None:
    rtf = summary.video_seconds / summary.wall_seconds if summary.wall_seconds else 0.0
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in summary.stage_seconds.items())
    click.echo(f"{len(summary.indexed)} indexed, {len(summary.skipped)} skipped, {len(summary.failed)} failed; "
               f"{summary.video_seconds:.1f} s of video, {summary.detections} objects in {summary.wall_seconds:.1f} s "
               f"({rtf:.1f}x real time; {stages}) -> {index_root}", err=True)
    for path, reason in summary.failed:
        click.echo(f"  failed: {reason}", err=True)


@cli.command()
@click.argument("text", required=False)
@click.option("--image", "image", type=click.Path(path_type=Path), help="Find the person or vehicle in this photo.")
@click.option("--any-class", is_flag=True, help="With --image: do not keep to the subject's class.")
@click.option("--limit", type=int, default=20, show_default=True, help="Number of hits.")
@click.option("--json", "as_json", is_flag=True, help="Print hits as a JSON array (stable keys).")
@model_options
@click.pass_context
def search(ctx, text, image, any_class, limit, as_json, **options):
    """Search by description (English or Vietnamese) or by photo.

    \b
    Examples:
      forensic search "red motorbike"
      forensic search "xe máy màu đỏ"
      forensic search "người mặc áo trắng"
      forensic search --image suspect.jpg
    """
    from forensic.index.store import IndexStore

    if (text is None or not text.strip()) and image is None:
        raise ForensicError("empty query: give a description (e.g. \"red motorbike\") or --image PHOTO")
    if text is not None and image is not None:
        raise ForensicError("give either a description or --image, not both")
    if limit < 1:
        raise ForensicError("--limit must be at least 1")
    settings = _settings(ctx, **options)
    store = IndexStore(settings.index)
    try:
        if image is not None:
            from forensic.models import build_models
            from forensic.search.photo import search_photo

            subject, hits = search_photo(store, build_models(settings), image, limit, any_class)
            understood = {"photo": str(image), "subject": subject.cls or "whole photo (no person or vehicle found)",
                          "box": [round(v) for v in subject.box], "class filter": "none" if any_class or not subject.cls else subject.cls}
        else:
            from forensic.query import parse_query
            from forensic.search.text import search_text

            query = parse_query(text)
            clip = _clip_for_search(settings, store)
            hits = search_text(store, query, clip, limit)
            understood = query.describe() | ({"clip": clip.name} if clip else {})
    finally:
        store.close()
    if as_json:
        click.echo("understood: " + json.dumps(understood, ensure_ascii=False), err=True)
        click.echo(json.dumps([h.to_json() for h in hits], ensure_ascii=False, indent=1))
    else:
        _print_hits(understood, hits)


def _clip_for_search(settings: Settings, store):
    """CLIP only when the index has CLIP vectors (loading it otherwise would be wasted time)."""
    if settings.clip == "off" or store.embedder("clip") is None:
        return None
    from forensic.models import build_models

    return build_models(settings).clip


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


def _mmss(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:04.1f}"


def _print_hits(understood: dict, hits) -> None:
    from rich.table import Table

    console = _console()
    console.print("understood: " + "; ".join(f"{k}: {', '.join(v) if isinstance(v, list) and all(isinstance(x, str) for x in v) else v}"
                                          for k, v in understood.items()), highlight=False)
    if not hits:
        console.print("no matches")
        return
    table = Table(show_lines=False)
    for col in ("#", "score", "class", "colours", "camera", "video", "time", "bbox", "thumbnail"):
        table.add_column(col, overflow="fold")
    for n, h in enumerate(hits, 1):
        colours = ", ".join(h.colors)
        if h.clothing:
            colours = f"top: {', '.join(h.clothing['upper']) or '?'}; bottom: {', '.join(h.clothing['lower']) or '?'}"
        when = _mmss(h.t) + (f"\n{h.time}" if h.time else "")
        table.add_row(str(n), f"{h.score:.3f}", h.cls, colours, h.camera, Path(h.video).name, when,
                      ",".join(str(round(v)) for v in h.bbox), h.thumb or "")
    console.print(table)


def main() -> None:
    cli(prog_name="forensic")


if __name__ == "__main__":
    main()
