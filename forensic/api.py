"""The library's front door: a search is a `SearchRequest`, and `run_search` turns it into a
`SearchResult`. The command line, the benchmarks and other programs all search this way, so a
request means the same everywhere: which filters apply, where --min-score cuts, how it is recorded.

    from forensic.api import SearchRequest, run_search
    from forensic.settings import Settings

    result = run_search(SearchRequest(text="xe máy màu đỏ", cameras=("truccat",), limit=5),
                        Settings.from_env(index="forensic-index"))
    for hit in result.hits:
        print(hit.id, hit.score, hit.camera, hit.time)

`index_paths`, `show_hit` and `export_hits` wrap indexing and the evidence functions the same way
(settings in, a result out). Layers: cli -> api -> evidence -> search -> index -> models, query,
cameras, timestamps, video -> primitives; this module is the only one below the CLI that knows them all.
"""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from forensic.cameras import Cameras, load_cameras
from forensic.errors import ForensicError
from forensic.evidence import frames as fr
from forensic.evidence.audit import AuditLog, for_index
from forensic.evidence.export import ExportItem
from forensic.evidence.export import export_hits as export_items
from forensic.files import ContentHash, check_output, sha256_file, write_new
from forensic.index import recordings
from forensic.index.pipeline import IndexEvent, IndexSummary, index_videos
from forensic.index.store import IndexStore
from forensic.models import Models, build_models
from forensic.plates import PlatePattern, normalise_plate
from forensic.query import CAPTION_NOUN, CLASSES, COLOR_ALIASES, DEFAULT_TZ, PALETTE, Query, TimeError, parse_datetime, parse_query
from forensic.query.when import has_zone
from forensic.search.filters import Filters
from forensic.search.hits import Hit
from forensic.search.photo import read_photo, search_photo
from forensic.search.similar import search_similar
from forensic.search.text import search_text
from forensic.settings import Settings

log = logging.getLogger(__name__)

SORTS = ("relevance", "time")
# The options of a request as the audit log and export manifests name them (the command line's names).
RECORDED_OPTIONS = ("classes", "colors", "camera", "since", "until", "min_score", "limit", "sort", "per_frame", "any_class", "timezone",
                    "plates")


@dataclass(frozen=True)
class SearchRequest:
    """One search as asked: what to find, the filters, and how to list the hits.

    What to find: a description (`text`), a photo (`image`) or a hit's whole appearance
    (`similar_to`, a hit id); one of them, except that a text search may also be given by `classes`
    and `colors` alone. `classes` and `colors` (the --class/--color flags) apply to text searches and
    are filters, kept apart from the text: a class replaces the classes the text names, a colour is
    asked for as well as the text's colours (once, however often it is named).

    Filters for every kind: `cameras` (ids, names or place aliases of the cameras file), `since` /
    `until` (a datetime, or the --since/--until forms: '2026-11-21T20:00', '20:00', 'yesterday'; a value
    without its own offset is read in `timezone` when one other than the default is given, else in the
    timezone of the cameras searched, see `time_zone`; a value that is not a time, or a window that
    ends before it starts, is refused). `min_score` drops weaker hits before the best `limit` are
    taken; `per_frame` lists single detections instead of one hit per appearance; `any_class` lets a
    photo or similar search leave its subject's class; `sort` is relevance or time.

    `plates` (the --plate flag; text searches): licence plates, full or partial, with or without dashes
    and dots, with `?` and `*` wildcards ("30F-621.51", "*621.5?", "29-B1"). Like plates typed in the
    text ("biển số 30F-621.51", "đuôi 51"), they add to the score of the appearances whose plate matches
    (tolerant of the reader's confusions, ranked by edit distance) and filter only a request that asks
    for nothing else.
    """

    text: str | None = None
    image: Path | None = None
    similar_to: int | None = None
    classes: tuple[str, ...] = ()
    colors: tuple[str, ...] = ()
    cameras: tuple[str, ...] = ()
    since: str | datetime | None = None
    until: str | datetime | None = None
    limit: int = 20
    per_frame: bool = False
    any_class: bool = False
    min_score: float = 0.0
    sort: str = "relevance"
    timezone: str = DEFAULT_TZ
    plates: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("classes", "colors", "cameras", "plates"):  # a single name, a list: kept as a tuple
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value or ()))
        if self.image is not None:
            object.__setattr__(self, "image", Path(self.image))

    @property
    def kind(self) -> str:
        """text, photo or similar."""
        return "similar" if self.similar_to is not None else "photo" if self.image is not None else "text"

    @property
    def command(self) -> str:
        """The command that runs this kind of request (search or similar), as the audit log names it."""
        return "similar" if self.kind == "similar" else "search"

    @property
    def title(self) -> str:
        """The query in a few words: as typed, or what stands for it ("photo suspect.jpg")."""
        if self.kind == "similar":
            return f"similar to hit {self.similar_to}"
        if self.kind == "photo":
            return f"photo {self.image.name}"
        return self.text or " ".join((*self.colors, *self.classes, *(f"plate {p}" for p in self.plates)))

    def palette_colors(self) -> tuple[str, ...]:
        """`colors` as palette names ("gray" -> "grey")."""
        return tuple(COLOR_ALIASES.get(c.lower(), c.lower()) for c in self.colors)

    def validate(self) -> None:
        """Refuse a request that cannot run (ForensicError, one line, in the command line's terms)."""
        if self.similar_to is not None:
            if self.text is not None or self.image is not None:
                raise ForensicError("a similar search takes a hit id alone, not a description or a photo")
        elif (self.text is None or not self.text.strip()) and self.image is None and not (self.classes or self.colors or self.plates):
            raise ForensicError("empty query: give a description (e.g. \"red motorbike\") or --image PHOTO")
        if self.text is not None and self.image is not None:
            raise ForensicError("give either a description or --image, not both")
        if self.limit < 1:
            raise ForensicError("--limit must be at least 1")
        if self.sort not in SORTS:
            raise ForensicError(f"unknown sort {self.sort!r}; use one of {', '.join(SORTS)}")
        if self.plates:
            if self.kind != "text":
                raise ForensicError("--plate goes with a text search (a description, --class/--color, or the plate alone)")
            for p in self.plates:
                if not normalise_plate(p, wildcards=True).replace("*", ""):
                    raise ForensicError(f"--plate {p!r}: give letters or digits of the plate (e.g. 30F-621.51, *621.5?, 29-B1)")
        if self.kind == "text":
            for c in self.classes:
                if c not in CLASSES:
                    raise ForensicError(f"unknown class {c!r}; use one of {', '.join(CLASSES)}")
            for c, name in zip(self.colors, self.palette_colors()):
                if name not in PALETTE:
                    raise ForensicError(f"unknown colour {c!r}; use one of {', '.join(PALETTE)}")

    def to_dict(self) -> dict:
        """The request as the audit log and export manifests record it: {"query": ..., "filters": ...}.

        query: {"text"}, {"image", "image_sha256"} (the photo is hashed here) or {"similar_to"};
        filters: the options given, under the command line's names (defaults left out; limit always),
        datetimes as ISO text."""
        if self.kind == "similar":
            query: dict = {"similar_to": self.similar_to}
        elif self.kind == "photo":
            query = {"image": str(self.image.resolve()), "image_sha256": sha256_file(self.image) if self.image.is_file() else None}
        else:
            query = {"text": self.text}
        filters = {}
        for key in RECORDED_OPTIONS:
            name = "cameras" if key == "camera" else key
            value = getattr(self, name)
            if key == "limit" or (value != _DEFAULTS[name] and value not in (None, "")):
                filters[key] = list(value) if isinstance(value, tuple) else _time_text(value)
        return {"query": query, "filters": filters}


_DEFAULTS = {f.name: f.default for f in fields(SearchRequest)}


@dataclass
class SearchResult:
    request: SearchRequest
    hits: list[Hit]
    understood: dict  # how the query was understood (what the command line prints after "understood:")
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds: prepare, models (when loaded), search, total

    def record(self) -> dict:
        """`request.to_dict()` with how the query was understood: what the audit log and a manifest keep."""
        out = self.request.to_dict()
        out["query"]["understood"] = self.understood
        return out


def run_search(request: SearchRequest, settings: Settings | None = None, *, store: IndexStore | None = None,
               models: Models | None = None, cameras: Cameras | None = None, now: datetime | None = None) -> SearchResult:
    """Run one search: filters first, then ranking; scores below `min_score` are dropped before the
    best `limit` hits are taken (text, photo and similar alike); sorted by time when asked.

    `settings` (default: Settings.from_env()) name the index, the models and the cameras file. A
    program that searches often passes its open `store` (left open) and built `models`; otherwise
    the index is opened here and the models are built only when needed (a photo search; CLIP for a
    text search when the index holds CLIP vectors). `cameras` defaults to the settings' cameras file;
    `now` (default: the current time) anchors relative times such as "last night" or --since 20:00.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    request.validate()
    settings = settings if settings is not None else Settings.from_env()
    own_store = store is None
    if own_store:
        store = IndexStore(settings.index)

    def loaded_models() -> Models:
        nonlocal models
        if models is None:
            t0 = time.perf_counter()
            models = build_models(settings)
            timings["models"] = _ms(time.perf_counter() - t0)
        return models

    try:
        if cameras is None:
            cameras = load_cameras(settings.cameras, store.root)
        now = now or datetime.now().astimezone()
        filters = _filters(request, store, cameras, now)
        args = (request.limit, request.any_class, request.per_frame, filters, cameras, request.min_score)
        if request.kind == "photo":
            photo = read_photo(request.image)  # a bad photo is reported before any model is loaded
            found = loaded_models()
            t0 = time.perf_counter()
            subject, hits = search_photo(store, found, photo, *args)
            understood = {"photo": str(request.image), "subject": subject.cls or "whole photo (no person or vehicle found)",
                          "box": [round(v) for v in subject.box],
                          "class filter": "none" if request.any_class or not subject.classes else "/".join(subject.classes)}
        elif request.kind == "similar":
            t0 = time.perf_counter()
            source, hits = search_similar(store, request.similar_to, *args)
            understood = {"similar to": f"hit {request.similar_to} ({source.cls}, {source.camera}, {Path(source.video).name} "
                                        f"at {_mmss(source.t)})"}
        else:
            query = text_query(request, cameras, filters, now)
            clip = None if settings.clip == "off" or store.embedder("clip") is None else loaded_models().clip
            t0 = time.perf_counter()
            flags = replace(filters, classes=tuple(request.classes), colors=request.palette_colors())  # the flags filter; the text ranks
            hits = search_text(store, query, clip, request.limit, request.per_frame, cameras, request.min_score, filters=flags)
            understood = query.describe() | ({"clip": clip.name} if clip else {})
        timings["search"] = _ms(time.perf_counter() - t0)
        timings["prepare"] = round(_ms(t0 - started) - timings.get("models", 0.0), 1)  # index, cameras, filters, parsing
    finally:
        if own_store:
            store.close()
    if request.sort == "time":
        hits = sorted(hits, key=lambda h: (h.time or "", h.video, h.t))
    timings["total"] = _ms(time.perf_counter() - started)
    return SearchResult(request, hits, understood, timings)


def text_query(request: SearchRequest, cameras: Cameras | None, filters: Filters, now: datetime | None = None) -> Query:
    """The Query a text request ranks by: its text parsed, then the --class/--color flags and the
    camera/time filters on top (a class flag replaces the text's classes; a colour flag is added
    unless the text already asks for it; flag cameras join the text's places, flag times win)."""
    colors = request.palette_colors()
    if request.text is not None and request.text.strip():
        tz = time_zone(request, cameras, filters.cameras)
        query = parse_query(request.text, cameras, now, tz or DEFAULT_TZ)
        if tz is None and query.since is not None:
            tz = time_zone(request, cameras, query.cameras)  # the places the text names may settle it
            if tz is None:
                raise ForensicError(f"the time in {request.text!r} is ambiguous: the cameras are in different timezones; "
                                    "name a place or choose cameras with --camera, or give --since/--until with an offset")
            query = parse_query(request.text, cameras, now, tz)
    else:  # flags alone: the query they make, as the parser would read their names
        query = Query(text=" ".join((*request.colors, *request.classes, *request.plates)), nouns=[CAPTION_NOUN[c] for c in request.classes])
    for typed in request.plates:
        pattern = PlatePattern.parse(typed)
        if pattern not in query.plates:
            query.plates.append(pattern)
    for name in colors:
        if (name,) not in query.colors:
            query.colors.append((name,))
    return replace(query, classes=request.classes or query.classes, cameras=tuple(dict.fromkeys(query.cameras + filters.cameras)),
                   since=filters.since or query.since, until=filters.until or query.until)


def _filters(request: SearchRequest, store: IndexStore, cameras: Cameras, now: datetime) -> Filters:
    """The camera and time filters of a request; camera names resolve through the cameras file."""
    ids = []
    for name in request.cameras:
        cam = next((c for c in cameras.cameras if c.id == name), None) or cameras.find_place(name)
        if cam is None:
            known = {r["camera"] for r in store.videos("done")}
            if name not in known:
                raise ForensicError(f"unknown camera {name!r}; known: {', '.join(sorted(known | {c.id for c in cameras.cameras})) or 'none'}")
        ids.append(cam.id if cam else name)
    try:
        since = _time(request.since, now, request, cameras, ids, "--since")
        until = _time(request.until, now, request, cameras, ids, "--until", end=True)
    except TimeError as e:
        raise ForensicError(str(e)) from None
    if since is not None and until is not None and since >= until:
        raise ForensicError(f"--since {_time_text(request.since)} is not before --until {_time_text(request.until)} "
                            f"({since.isoformat()} >= {until.isoformat()}): nothing could match")
    return Filters(cameras=tuple(ids), since=since, until=until)


def time_zone(request: SearchRequest, cameras: Cameras | None, ids: Sequence[str] = ()) -> str | None:
    """The timezone a typed time without an offset is read in: the request's when it names one, else the
    cameras' (those asked for, else all of the cameras file) when they share one, else the default; None
    when those cameras are in different timezones (a time of day would mean different instants)."""
    if request.timezone != DEFAULT_TZ:
        return request.timezone
    cams = [c for c in getattr(cameras, "cameras", None) or () if not ids or c.id in ids]
    zones = {c.timezone for c in cams}
    return zones.pop() if len(zones) == 1 else DEFAULT_TZ if not zones else None


def _time(value: str | datetime | None, now: datetime, request: SearchRequest, cameras: Cameras | None, ids: Sequence[str],
          option: str, end: bool = False) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime) and value.tzinfo:
        return value
    if isinstance(value, str) and has_zone(value):
        return parse_datetime(value, now, DEFAULT_TZ, end=end)
    tz = time_zone(request, cameras, ids)
    if tz is None:
        zones = ", ".join(sorted({c.timezone for c in cameras.cameras if not ids or c.id in ids}))
        raise TimeError(f"{option} {_time_text(value)}: the cameras are in different timezones ({zones}); give the time with its "
                        "offset (e.g. 2026-11-21T20:00+07:00) or choose cameras with --camera")
    if isinstance(value, datetime):
        return value.replace(tzinfo=ZoneInfo(tz))
    return parse_datetime(value, now, tz, end=end)


def _time_text(value):
    """A recorded value: datetimes as ISO text, the rest as they are."""
    return value.isoformat() if isinstance(value, datetime) else value


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _mmss(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:04.1f}"


# -- indexing and evidence, the same shape: settings in, a result out ------------------------------
def index_paths(paths: Iterable[Path | str], settings: Settings | None = None, *, models: Models | None = None, wait: bool = False,
                on_event: Callable[[IndexEvent], None] | None = None, cluster=None) -> IndexSummary:
    """Index video files or folders (recursively) into `settings.index`. `on_event` sees each event
    (start, progress, done, skipped, pending, failed) as it happens. A file that fails is listed in
    the summary's `failed`; the others are indexed. `wait`: wait for another index run to finish.
    `cluster` (forensic.index.cluster.Cluster): describe the recordings on Ray, where the workers load the
    models (`models` is then not used); this process writes the index as a local run does."""
    settings = settings if settings is not None else Settings.from_env()
    with ExitStack() as stack:
        on_ray = None
        if cluster is not None:  # Ray connected (a local instance started) and its workers' models checked, before the index is opened
            from forensic.index.cluster import OnRay

            on_ray = stack.enter_context(OnRay(cluster, settings))
        else:
            models = models or build_models(settings)
        summary = IndexSummary()
        indexed = None
        try:
            with IndexStore(settings.index, writer=True, wait=wait) as store:
                try:
                    paths = [Path(p) for p in paths]
                    run = index_videos(paths, store, models, settings, summary) if on_ray is None else on_ray.index(paths, store, summary)
                    for event in run:
                        if on_event is not None:
                            on_event(event)
                finally:
                    indexed = [{"path": str(p), "sha256": recordings.indexed_hash(store.video_by_path(p))} for p in summary.indexed]
        finally:  # what changed in the index is audited, also when the run is cut short (once the index was opened)
            if indexed is not None:
                AuditLog(settings.index).append({"command": "index", "paths": [os.path.abspath(p) for p in paths], "indexed": indexed,
                                                 "skipped": len(summary.skipped), "pending": len(summary.pending),
                                                 "failed": [{"path": str(p), "reason": r} for p, r in summary.failed]})
    return summary


def show_hit(hit_id: int, out: Path | str | None = None, settings: Settings | None = None, *, context: float | None = None,
             step: float = 1.0, force: bool = False) -> Path:
    """Write the full frame of a hit with its box and a caption (camera, time, class, colours), or with
    `context` seconds a strip of frames every `step` seconds around it, to `out` (.jpg, .png or .webp;
    default hit-ID.jpg / hit-ID-context.jpg). Returns the file written. An existing file is replaced
    only with `force`; a file inside the index folder never."""
    if context is not None and not (math.isfinite(context) and math.isfinite(step) and context >= 0 and step > 0
                                    and context / step <= 30):  # NaN fails every comparison: refused here too
        raise ForensicError("--context must be 0 to 30 steps of --step seconds (e.g. --context 3 --step 1)")
    out = Path(out) if out is not None else Path(f"hit-{hit_id}{'-context' if context is not None else ''}.jpg")
    if out.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp"):
        raise ForensicError(f"--out {out}: use a .jpg, .png or .webp file name")
    if not out.parent.resolve().is_dir():
        raise ForensicError(f"--out {out}: folder {out.parent} does not exist")
    settings = settings if settings is not None else Settings.from_env()
    check_output(out, settings.index, force=force, option="--out")
    cameras = load_cameras(settings.cameras, settings.index)
    with IndexStore(settings.index) as store:
        hit = fr.load_hit(store, hit_id, cameras)
        boxes = fr.track_boxes(store, hit) if context is not None else {}
        video_row = store.video_by_path(Path(hit.video))
    place = fr.place_of(cameras, hit.camera, hit.video)
    source = fr.FrameSource(hit.video)
    content = ContentHash(Path(hit.video))  # the whole recording, hashed while its frame is decoded
    hit.frame, image, _ = fr.locate(source, hit, thumb_bytes(hit))
    if context is None:
        picture = fr.annotated_frame(image, hit, place)
    else:
        picture = fr.strip_image(fr.strip_frames(source, hit, boxes, context, step), hit, place, step)
    try:
        note = recordings.refuse_if_changed(video_row, content.result(), f"show hit {hit_id}")
    except OSError as e:
        raise ForensicError(f"cannot read {hit.video} to check it is the recording indexed: {e.strerror or e}") from None
    if note:
        log.warning("%s", note)
    write_new(out, fr.encode_image(picture, out.suffix), force=force)
    return out


def export_hits(hits: Sequence[Hit | int], out: Path | str, settings: Settings | None = None, *, before: float = 10.0,
                after: float = 10.0, exact: bool = False, found_by: SearchResult | None = None,
                seal: Callable[[Path, dict], dict] | None = None) -> dict:
    """Keep hits (or hit ids) as evidence in the new folder `out`: the clip around each one cut from the
    original recording, its frame, thumbnail, and a manifest with SHA-256 hashes; returns the manifest.

    `found_by`: the search that chose these hits (its request and how it was understood go into the
    manifest); without it, each hit records the last search in the audit log that returned it. `seal(out,
    manifest)` writes the export's audit entry (forensic.maintenance.export_seal); the folder is removed when it fails."""
    settings = settings if settings is not None else Settings.from_env()
    cameras = load_cameras(settings.cameras, settings.index)
    with IndexStore(settings.index) as store:
        hits = [h if isinstance(h, Hit) else fr.load_hit(store, int(h), cameras) for h in hits]
        rows = {h.video: store.video_by_path(Path(h.video)) for h in hits}  # their content fingerprints
    log = for_index(settings.index)
    items = []
    for hit in hits:
        found = None
        if found_by is None:
            found = log.find_last(lambda e, i=hit.id: e.get("command") in ("search", "similar") and i in (e.get("hit_ids") or []))
            found = {k: found.get(k) for k in ("seq", "time", "user", "command", "query", "filters", "hash")} if found else None
        items.append(ExportItem(hit, fr.place_of(cameras, hit.camera, hit.video), thumb_bytes(hit), found, rows[hit.video]))
    query = found_by.record()["query"] if found_by is not None else None
    return export_items(items, Path(out), before, after, exact, query, settings.index, seal=seal)


def thumb_bytes(hit: Hit) -> bytes | None:
    """The index thumbnail of a hit (JPEG), when it is there."""
    return Path(hit.thumb).read_bytes() if hit.thumb and Path(hit.thumb).is_file() else None
