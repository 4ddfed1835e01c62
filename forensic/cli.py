"""Command line: `forensic index`, `search`, `show`, `export` and the maintenance commands. Commands parse their
arguments, call forensic.api (or forensic.maintenance), and show the result with forensic.render. Click is
known only here, in forensic.options (the options) and forensic.render; rich only in forensic.render."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from forensic import __version__, render
from forensic.errors import AuditError, ForensicError, IntegrityError, Interrupted
from forensic.options import (cluster_of, filter_options, force_given, html_option, index_options, model_options, shared_params,
                              with_shared_options)
from forensic.printable import printable
from forensic.settings import Settings


EXIT_OK, EXIT_FAILED_FILES, EXIT_USAGE, EXIT_INTEGRITY, EXIT_AUDIT = 0, 1, 2, 3, 4


def _say(text, err: bool = False) -> None:
    """One line of output: names from outside (files, cameras, queries) cannot break it or forge another."""
    click.echo(printable(text), err=err)


def _settings(ctx, **overrides) -> Settings:
    return Settings.from_env(**ctx.obj, **overrides)


class ForensicGroup(click.Group):
    """Turns ForensicError into one line on stderr and its exit code (never a traceback); gives every command the shared options."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as e:  # noqa: BLE001 - ForensicError, or a damaged database met while reading; others go on
            from forensic.index.store import database_damage

            if not isinstance(e, ForensicError) and (e := database_damage(ctx.meta.get("index_root", Path("forensic-index")), e)) is None:
                raise
            _say(f"forensic: error: {e}", err=True)
            sys.exit(EXIT_INTEGRITY if isinstance(e, IntegrityError) else EXIT_AUDIT if isinstance(e, AuditError) else EXIT_USAGE)
        except Interrupted as e:  # SIGTERM/Ctrl-C during an export: cleaned up; exit 128 + the signal
            _say(f"forensic: {e}", err=True)
            sys.exit(e.exit_code)

    def add_command(self, cmd, name=None):
        super().add_command(with_shared_options(cmd), name)


@click.group(cls=ForensicGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--force", is_flag=True, help="Replace existing output files (--html, --out; here also a --log-file that is not a forensic log).")
@click.version_option(__version__, prog_name="forensic")
@click.pass_context
def cli(ctx, force, **shared):
    """Search recorded CCTV footage by description or by photo, on this machine, offline.

    --index, --models, --cameras, --download, -v, -q, --log-file and --log-format go before or after
    the command. Outputs never replace an existing file without --force, and are never written inside
    the index folder (exit 2, one line)."""
    ctx.meta["shared"] = shared
    ctx.meta["force"] = force


cli.params[:0] = shared_params()


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))  # each file is checked in the run, one line per failure
@index_options
@click.option("--wait", is_flag=True, help="If another index run is writing, wait for it instead of exiting.")
@model_options
@click.pass_context
def index(ctx, paths, wait, **options):
    """Index video files or folders (recursively): detect people and vehicles, store colours and vectors.

    Exit code: 0 all indexed, 1 some files failed (the others are indexed), 2 usage or configuration error (a read-only index)."""
    from forensic.api import index_paths
    from forensic.index.store import refuse_read_only
    from forensic.models import build_models

    cluster = cluster_of(options)  # --ray: the recordings are described on Ray, whose workers load the models
    settings = _settings(ctx, **options)
    refuse_read_only(settings.index)  # before the models load: one line, nothing changed
    models = build_models(settings) if cluster is None else None  # missing weights are reported before any progress is shown
    with render.index_progress(quiet=ctx.meta["quiet"]) as on_event:
        summary = index_paths(list(paths), settings, models=models, wait=wait, on_event=on_event, cluster=cluster)
    render.print_index_summary(summary, settings.index)
    sys.exit(EXIT_FAILED_FILES if summary.failed else EXIT_OK)


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

        check_output(Path(html), settings.index, force=force_given(ctx), option="--html")
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
    from forensic.maintenance import list_cameras

    source, out = list_cameras(_settings(ctx))
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    for line in render.camera_lines(source, out):
        _say(line)


@cli.command()
@click.option("--repair", is_flag=True, help="Fix what can be fixed without the source videos.")
@click.option("--fast", is_flag=True, help="Check recordings by size, time and sampled blocks only (weaker: edits between blocks are missed).")
@click.pass_context
def verify(ctx, repair, fast):
    """Check the index (rows, vectors, thumbnails, search files, audit log) and every recording's SHA-256. Exit 1 on problems."""
    from forensic.maintenance import verify_index

    lines, ok = verify_index(_settings(ctx), repair=repair, fast=fast)
    for line in lines:
        _say(line)
    sys.exit(EXIT_OK if ok else EXIT_FAILED_FILES)


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
    from forensic.maintenance import audit, prune_cutoff, recorded_starts

    cutoff = prune_cutoff(older_than, before)
    settings = _settings(ctx)
    if not (settings.index / "index.sqlite").exists():
        raise ForensicError(f"no index at {settings.index}")
    what = f"{'indexed' if by == 'indexed' else 'recorded'} before {cutoff}" + (f" on camera {camera}" if camera else "")
    ask = not dry_run and not yes and _interactive()
    with IndexStore(settings.index, writer=not dry_run, wait=wait) as store:
        starts = recorded_starts(settings, store) if by == "recorded" else {}  # as hits show them: the cameras file now
        candidates = store.prune_candidates(cutoff, camera, by, starts)
        doing = "removing" if yes and not dry_run else "would remove"
        for r in candidates:
            _say(f"{doing}: {r['path']} (camera {r['camera']}, recorded {(starts.get(r['id']) or r['start_time'] or '?')[:19]}, "
                 f"indexed {(r['indexed_at'] or 'never')[:19]}, {r['detections']} detections)")
        total = sum(r["detections"] for r in candidates)
        if not candidates:
            _say(f"nothing to remove: no videos {what}")
            return
        if dry_run or not (yes or (ask and click.confirm(f"remove these {len(candidates)} videos?", default=False, err=True))):
            _say(f"dry run: {len(candidates)} videos and {total} detections {what} would be removed; nothing removed"
                 + ("" if dry_run or ask else " (add --yes to remove)"))
            return
        videos, detections = store.prune(cutoff, camera, by, starts)
    audit(settings, {"command": "prune", "before": cutoff, "by": by, "camera": camera, "removed": [r["path"] for r in candidates]})
    _say(f"removed {videos} videos and {detections} detections {what}")


def _interactive() -> bool:
    """Whether a person can answer a question (stdin and stderr are terminals)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def stats(ctx, as_json):
    """Counts, sizes, cameras, time span and models of the index."""
    from forensic.maintenance import index_stats

    info = index_stats(_settings(ctx))
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=1))
        return
    for key, value in info.items():
        _say(f"{key}: {value if not isinstance(value, dict) else ', '.join(f'{k}={v}' for k, v in value.items())}")


# -- evidence: show, export, audit, and search --html ----------------------------------------------
def _report_and_audit(ctx, settings: Settings, result) -> None:
    """search/similar: write the --html report, then the audit entry (before the hits are shown)."""
    from forensic.maintenance import record_search

    html = ctx.params.get("html")
    record_search(settings, result, Path(html) if html is not None else None, force=force_given(ctx))
    if html is not None:
        _say(f"report: {html}", err=True)


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
    from forensic.maintenance import record_show

    settings = _settings(ctx)
    out = show_hit(hit_id, out, settings, context=context, step=step, force=force_given(ctx))
    record_show(settings, hit_id, out, context, step)  # removes the picture when the audit entry cannot be written
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
    from forensic.api import export_hits
    from forensic.evidence.media import find_tool
    from forensic.files import inside
    from forensic.maintenance import choose_hits, export_seal

    if out is None:
        raise ForensicError("--out FOLDER is required (a new folder for the export), or use --verify FOLDER")
    find_tool("ffmpeg"), find_tool("ffprobe")  # before any search or model loading
    settings = _settings(ctx, **options)
    if inside(out, settings.index):
        raise ForensicError(f"--out {out} is inside the index folder {settings.index}: only the index writes there; "
                            "export into a new folder elsewhere")
    chosen, found_by = choose_hits(hits, top, settings, image=image, classes=classes, colors=colors, cameras=camera, since=since,
                                   until=until, min_score=min_score, per_frame=per_frame, any_class=any_class)
    manifest = export_hits(found_by.hits if found_by else chosen, out, settings, before=before, after=after, exact=exact,
                           found_by=found_by, seal=export_seal(settings, chosen, found_by, exact=exact, before=before, after=after))
    if as_json:
        click.echo(json.dumps(manifest, ensure_ascii=False, indent=1))
        return
    for line in render.export_lines(manifest, out):
        _say(line)


def _verify_export(ctx, folder: Path, as_json: bool) -> None:
    from forensic.maintenance import check_export

    result = check_export(folder, _settings(ctx))
    if as_json:
        click.echo(json.dumps({"ok": result.ok, "checked": result.checked, "problems": result.problems, "notes": result.notes,
                               "manifest_sha256": result.manifest_sha256}, ensure_ascii=False, indent=1))
    else:
        for line in render.export_check_lines(result, folder):
            _say(line)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED_FILES)


@cli.command()
@click.option("--verify", "check", is_flag=True, help="Check the hash chain; exit 1 at the first bad line.")
@click.option("--tail", type=int, help="Only the last N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as stored (JSON lines).")
@click.pass_context
def audit(ctx, check, tail, as_json):
    """The audit log: every search, show and export (who, when, what, how many hits, which files)."""
    from forensic.evidence.audit import for_index

    settings = _settings(ctx)
    if not settings.index.is_dir():
        raise ForensicError(f"no index at {settings.index}")
    log_ = for_index(settings.index)
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
        _say(render.audit_line(e))
    if not as_json:
        _say(f"{len(entries)} entries in {log_.path}" if entries else f"no audit entries in {settings.index}")


def main() -> None:
    cli(prog_name="forensic")

