"""The command line's options: the shared ones (before or after the command, set up here: umask, logging,
native libraries' noise), and the sets several commands take (models, filters, --html)."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import click

from forensic.errors import ForensicError
from forensic.logsetup import check_log_file, index_root, setup_logging
from forensic.native import quiet_native_logs


# Options every command takes, before the command's name or after it (`forensic --index X search ...` or
# `forensic search ... --index X`); given in both places, the one after the command wins.
SHARED_OPTIONS = {
    "index": (["--index", "index"], dict(type=click.Path(path_type=Path), help="Index folder. [$FORENSIC_INDEX or ./forensic-index]")),
    "models": (["--models"], dict(type=click.Path(path_type=Path), help="Offline models folder, checked before any download. [$FORENSIC_MODELS]")),
    "download": (["--download"], dict(is_flag=True, default=None, help="Allow downloading missing model weights (otherwise every run is offline).")),
    "cameras": (["--cameras"], dict(type=click.Path(path_type=Path, readable=False),
                                    help="Cameras file (TOML). [$FORENSIC_CAMERAS or cameras.toml in the index folder]")),
    "verbose": (["-v", "--verbose"], dict(count=True, help="More log output (-vv for debug).")),
    "quiet": (["-q", "--quiet"], dict(is_flag=True, default=None, help="Only errors and the final summary.")),
    "log_file": (["--log-file"], dict(type=click.Path(path_type=Path), help="Also append log records to this file.")),
    "log_format": (["--log-format"], dict(type=click.Choice(["text", "json"]), help="json: one JSON object per line, for log collectors. [text]")),
}


def shared_params() -> list[click.Option]:
    return [click.Option(decls, **attrs) for decls, attrs in SHARED_OPTIONS.values()]


def with_shared_options(cmd: click.Command) -> click.Command:
    """Add the shared options to a command; its callback sets up the run (logging, umask) with them first."""
    cmd.params.extend(shared_params())
    inner = cmd.callback

    def callback(*args, **kwargs):
        given = {k: kwargs.pop(k) for k in SHARED_OPTIONS}
        setup(click.get_current_context(), given)
        return inner(*args, **kwargs)

    cmd.callback = callback
    return cmd


def setup(ctx, after: dict) -> None:
    """Merge the shared options given after the command into those given before it, then set up the run."""
    root = ctx.find_root()
    opts = dict(root.meta.get("shared", {}))
    opts.update({k: v for k, v in after.items() if v not in (None, 0, False)})
    os.umask(0o077)  # index files and thumbnails are for their owner only
    # forensic's own progress lines show by default (cron logs); other libraries only speak up with -v
    verbose = opts.get("verbose") or 0
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    if opts.get("log_file") is not None:
        check_log_file(opts["log_file"], index_root(opts.get("index")), force_given(ctx))
    quiet, log_format = bool(opts.get("quiet")), opts.get("log_format") or "text"
    quiet_native_logs(verbose > 1)  # ffmpeg's and OpenCV's own warnings: only with -vv
    setup_logging(level, logging.ERROR if quiet else min(level, logging.INFO), opts.get("log_file"), log_format)
    ctx.obj = {k: opts.get(k) for k in ("index", "models", "download", "cameras")}
    ctx.meta["index_root"] = index_root(opts.get("index"))  # for the report of a damaged index database
    ctx.meta["quiet"] = quiet
    ctx.meta["json_log"] = log_format == "json"


def force_given(ctx) -> bool:
    """--force, given before the command (forensic --force show ...) or after it (show ... --force)."""
    return bool(ctx.params.get("force") or ctx.find_root().meta.get("force"))




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


def filter_options(f):
    for opt in reversed([
        click.option("--camera", "camera", multiple=True, help="Only this camera (id, name or place alias); repeatable."),
        click.option("--since", help="From this time: YYYY-MM-DD[THH:MM][+07:00|Z], HH:MM (today) or 'yesterday'; "
                                     "without an offset, in the cameras' timezone."),
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
    """--html FILE on search/similar; `_report_and_audit` writes the report (the command body never sees the flag)."""
    @functools.wraps(f)
    def wrapper(*args, html=None, force=False, **kwargs):
        return f(*args, **kwargs)

    wrapper = click.option("--force", is_flag=True, help="Replace an existing --html file.")(wrapper)
    return click.option("--html", "html", type=click.Path(path_type=Path, dir_okay=False),
                        help="Also write a self-contained HTML report (pictures, sortable, contact sheet per camera); "
                             "an existing file is replaced only with --force.")(wrapper)


def index_options(f):
    """How `forensic index` samples, detects and settles (defaults in forensic.settings.Settings), and where (cluster_options)."""
    f = cluster_options(f)  # listed after the others
    for opt in reversed([
        click.option("--fps", type=float, help="Frames sampled per second of video. [2]"),
        click.option("--conf", type=float, help="Detector confidence threshold. [0.3]"),
        click.option("--batch", type=int, help="Frames per detector batch. [4]"),
        click.option("--keyframes", is_flag=True, default=None, help="Decode keyframes only: several times faster on recordings with a keyframe "
                     "every 1-2 s, but objects seen only between keyframes are missed (needs PyAV)."),
        click.option("--min-motion", type=float, help="Share of the picture that must change since the last detected frame for the detector "
                     "to run (0: detect every sampled frame). [0.0005]"),
        click.option("--max-skip", type=float, help="Seconds: detect at least this often, motion or not. [4]"),
        click.option("--settle", type=float, help="Seconds: a file in a scanned folder that is still growing, or incomplete and modified more recently than this, "
                     "is left for the next run (0: never). Files named on the command line are always indexed. [120]"),
        click.option("--plates/--no-plates", "plates", default=None,
                     help="Read licence plates of vehicles (when the reader is installed: pip install 'forensic[plates]'). [on]"),
        click.option("--replace-changed", is_flag=True, default=None, help="Re-index a recording whose content changed since it was "
                     "indexed, replacing its hits (without it such a file fails, naming both hashes)."),
    ]):
        f = opt(f)
    return f


def cluster_options(f):
    """--ray, --ray-workers, --path-map of `forensic index` (docs/cluster.md); `cluster_of` makes them a Cluster."""
    for opt in reversed([
        click.option("--ray", "ray", envvar="FORENSIC_RAY", help="Describe the recordings on Ray: 'local' (an instance of this run's own "
                     "on this machine), 'auto' (the one 'ray start' runs here) or the cluster's HOST:PORT; this machine writes the index. "
                     "Needs pip install 'forensic[cluster]'."),
        click.option("--ray-workers", type=int, envvar="FORENSIC_RAY_WORKERS",
                     help="With --ray: at most this many recordings at once. [local: the cores; a cluster: its CPUs]"),
        click.option("--path-map", "path_map", multiple=True, envvar="FORENSIC_PATH_MAP",
                     help="With --ray: WRITER=WORKER, where the workers find the files under a folder of this machine "
                          "(e.g. /mnt/nas=/srv/cctv); repeatable."),
    ]):
        f = opt(f)
    return f


def cluster_of(options: dict):
    """Take --ray, --ray-workers and --path-map out of a command's options: a forensic.index.cluster.Cluster, or
    None for a local run (the other two without --ray are refused)."""
    address, workers, path_map = options.pop("ray", None), options.pop("ray_workers", None), options.pop("path_map", ())
    if address is None:
        if workers is not None or path_map:
            raise ForensicError("--ray-workers and --path-map go with --ray ADDRESS (e.g. --ray local)")
        return None
    from forensic.index.cluster import Cluster, PathMap

    return Cluster(address, workers, PathMap.parse(path_map))
