"""The logic of the maintenance and evidence commands (cameras, prune, which hits an export takes, export
--verify, the audit entries of search, show and export), apart from how the CLI shows it."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta
from pathlib import Path

from forensic.api import SearchRequest, run_search
from forensic.cameras import load_cameras
from forensic.errors import ForensicError
from forensic.evidence.audit import AuditLog
from forensic.evidence.export import MANIFEST, verify_export
from forensic.evidence.report import write_search_report
from forensic.files import sha256_file
from forensic.index.store import IndexStore
from forensic.search.hits import video_clock
from forensic.settings import Settings

SUMS_NAME = "SHA256SUMS"
log = logging.getLogger(__name__)


def list_cameras(settings: Settings) -> tuple[Path | None, list[dict]]:
    """(the cameras file, every camera with the indexed videos it owns): the configured cameras first,
    then the folder-named ones found only in the index. Each camera's `recordings` give every video's
    start, where it came from, and what its on-screen clock said (for a camera with `osd`)."""
    index_exists = (settings.index / "index.sqlite").exists()
    config = load_cameras(settings.cameras, settings.index if index_exists else None)
    videos = []
    if index_exists:
        with IndexStore(settings.index) as store:
            videos = store.videos("done")
    out = []
    for cam in config.cameras:
        owned = [r for r in videos if r["camera"] == cam.id or cam.owns(r["path"])]
        osd = None if cam.osd is None else "auto" if cam.osd.auto else {"region": list(cam.osd.region), "format": cam.osd.format.text}
        out.append({"id": cam.id, "name": cam.name, "places": list(cam.places), "match": list(cam.match), "timezone": cam.timezone,
                    "clock_offset": cam.clock_offset, "osd": osd, "time_source": cam.time_source,
                    "videos": [r["path"] for r in owned], "recordings": [_recording(r, config) for r in owned]})
    configured = {c.id for c in config.cameras}
    for name in sorted({r["camera"] for r in videos} - configured):
        owned = [r for r in videos if r["camera"] == name and not any(c.owns(r["path"]) for c in config.cameras)]
        out.append({"id": name, "name": name, "places": [], "match": [], "timezone": None, "clock_offset": 0, "osd": None,
                    "time_source": "auto", "videos": [r["path"] for r in owned], "recordings": [_recording(r, config) for r in owned]})
    return config.source, out


def _recording(row, config) -> dict:
    """A video's start (made from its recorded start with the cameras file now, as hits are: clock_of), its
    source, and its on-screen clock's verdict as read at indexing (start, disagreement with the file's time in
    seconds, both with the camera's offset of then)."""
    clock = json.loads(row["clock"]) if "clock" in row.keys() and row["clock"] else None
    if clock:
        clock = {k: clock.get(k) for k in ("status", "start", "uncertainty", "disagreement", "file_source", "file_start", "used",
                                           "reason", "format", "region", "readings")}
    wall, how = video_clock(row, config)
    return {"path": row["path"], "start": wall.start.isoformat() if wall is not None else None, "time_source": row["time_source"],
            "recomputed": bool(how.get("recomputed")), **({"stale": how["stale"]} if how.get("stale") else {}), "clock": clock}


def recorded_starts(settings: Settings, store: IndexStore) -> dict[int, str]:
    """Each video's recorded start as its hits show it (clock_of: the recorded start with the cameras file
    now), as ISO text to the second with its UTC offset, like the stored start_time: what `prune --by
    recorded` judges age by (the camera's local time, compared with a local cutoff) and `stats` spans. A
    video without a known start is left out (its file's time stands in)."""
    config = load_cameras(settings.cameras, store.root)
    out = {}
    for r in store.videos(None):
        wall, _ = video_clock(r, config)
        if wall is not None:
            out[r["id"]] = wall.start.isoformat(timespec="seconds")
    return out


def index_stats(settings: Settings) -> dict:
    """`stats`: counts, sizes, cameras, time span (of the starts as hits show them) and models of the index.
    A cameras file that cannot be read leaves the span to the starts stored at indexing, with a warning."""
    with IndexStore(settings.index) as store:
        try:
            starts = recorded_starts(settings, store)
        except ForensicError as e:
            log.warning("%s; the time span is of the starts stored when indexing", e)
            starts = {}
        return store.stats(starts)


def prune_cutoff(older_than: str | None, before: str | None) -> str:
    """The ISO time before which `prune` removes footage: --older-than 30d (from now) or --before DATE."""
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


def verify_index(settings: Settings, repair: bool = False, fast: bool = False) -> tuple[list[str], bool]:
    """`forensic verify`: (lines to print, whether all is sound). The index (rows, vectors, thumbnails, search
    files), every indexed recording against its content fingerprint (full SHA-256, or with `fast` size, time and
    sampled blocks), and the audit log. Notes (a recording moved away, no fingerprint) do not fail it."""
    from forensic.index import recordings

    lines: list[str] = []
    with IndexStore(settings.index, writer=repair) as store:
        problems = store.verify(repair=repair)
        videos = store.videos("done")
        if store.verified_while_writing:
            lines.append("note: an index run is writing: the video it is indexing and search files catching up are not problems")
    for problem, fixed in problems:
        lines.append(f"{'fixed' if fixed else 'problem'}: {problem}")
    ok = all(fixed for _, fixed in problems)
    unknown = []
    for row in videos:
        result = recordings.check(row, fast=fast)
        if result.state in ("changed", "unreadable"):
            ok = False
            lines.append(f"problem: recording {result.line()}")
        elif result.state == "missing":
            lines.append(f"note: recording {result.line()}: not checked")
        elif result.state == "no fingerprint":
            unknown.append(result.path)
    if unknown:
        lines.append(f"note: {len(unknown)} recordings have {recordings.NO_FINGERPRINT} (e.g. {unknown[0]}); indexing them "
                     "into a new index fingerprints them")
    checked = sum(1 for r in videos if recordings.indexed_hash(r)) - sum(1 for ln in lines if ln.startswith("note: recording"))
    lines.append(f"recordings: {checked} checked ({'fast: size, time and sampled blocks' if fast else 'full SHA-256'})")
    fixed = [problem for problem, done in problems if done]
    if fixed:  # verify --repair changed the index: audited like every change
        audit(settings, {"command": "verify", "repair": True, "fixed": fixed})
    from forensic.evidence.audit import AuditLog

    chain = AuditLog(settings.index).verify()
    if not chain.ok:
        ok = False
        lines.append(f"problem: audit log: {chain.reason}")
    else:
        lines.append(f"audit log: {chain.entries} entries, head {chain.head or 'none'}")
    lines.append(f"{settings.index}: {'ok' if ok else 'PROBLEMS'}")
    return lines, ok


def check_export(folder: Path, settings: Settings):
    """export --verify: the folder's files against its manifest and SHA256SUMS, and the manifest against the audit
    entry it names (which recorded the SHA-256 of every file and of the manifest itself): an edited manifest whose
    SHA256SUMS was recomputed to match is still found, and the line says which one was changed."""
    import json

    from forensic.evidence.audit import for_index
    from forensic.evidence.export import MANIFEST, manifest_body_sha256, verify_export

    if not folder.is_dir():
        raise ForensicError(f"{folder} is not a folder")
    result = verify_export(folder)
    if result.manifest_sha256 is None or any(p.startswith(f"{MANIFEST} is not") for p in result.problems):
        return result
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    sealed = manifest.get("audit") if isinstance(manifest.get("audit"), dict) else None
    log = for_index(settings.index)
    if not log.path.exists():
        result.notes.append(f"NOT checked against the audit log: no audit log in {settings.index} (give the export's --index); "
                            f"only {SUMS_NAME} vouches for {MANIFEST}, and it can be recomputed")
        return result
    if sealed is None:  # an export from before manifests named their audit entry: the entry recorded the whole manifest
        entry = log.find_last(lambda e: e.get("command") == "export" and e.get("folder") == str(folder.resolve()))
        recorded = next((f["sha256"] for f in (entry or {}).get("exported", []) if f.get("path", "").endswith("/" + MANIFEST)), None)
        if entry is None:
            result.problems.append(f"{MANIFEST} names no audit entry, and the audit log of {settings.index} has no export into this folder")
        elif recorded != result.manifest_sha256:
            result.problems.append(f"{MANIFEST} differs from the one recorded in audit entry {entry['seq']}")
        else:
            result.notes.append(f"{MANIFEST} is the one recorded in audit entry {entry['seq']} ({entry['time']}, {entry['user']})")
        result.ok = not result.problems
        return result
    entry = next((e for e in log.entries() if e.get("seq") == sealed.get("seq")), None)
    chain = log.verify()
    if entry is None or entry.get("hash") != sealed.get("hash") or entry.get("command") != "export":
        result.problems.append(f"{MANIFEST} names audit entry {sealed.get('seq')} (hash {sealed.get('hash')}), which the audit log of "
                               f"{settings.index} does not hold: the manifest's audit part was changed, or this is another index")
    else:
        recorded = {Path(f["path"]).name: f["sha256"] for f in entry.get("exported", [])}
        if recorded.get(MANIFEST) != manifest_body_sha256(manifest):
            result.problems.append(f"{MANIFEST} was changed after the export: its content is not what audit entry {entry['seq']} "
                                   f"recorded" + ("" if any(p.startswith(MANIFEST) for p in result.problems) else
                                                  f" ({SUMS_NAME} was recomputed to match it)"))
        listed = {f["file"]: f["sha256"] for it in manifest.get("items", []) for f in it.get("files", [])}
        for name, digest in sorted(recorded.items()):
            if name != MANIFEST and listed.get(name) != digest:
                result.problems.append(f"{MANIFEST} lists another hash for {name} than audit entry {entry['seq']} recorded")
        if not chain.ok:
            result.problems.append(f"the audit log is broken ({chain.reason}): its entries cannot vouch for this export")
        if not result.problems:
            result.notes.append(f"{MANIFEST} and every file are the ones recorded in audit entry {entry['seq']} ({entry['time']}, "
                                f"{entry['user']}); audit log head {chain.head}")
    result.ok = not result.problems
    return result


# -- evidence: what an export takes, and the audit entries -------------------------------------------
def choose_hits(hits: tuple[str, ...], top: int | None, settings: Settings, **search):
    """(hit ids, the SearchResult that found them or None): `--top N` runs a search (the arguments are its
    description, `search` its options); otherwise the arguments are the hit ids."""
    if top is not None:
        if top < 1:
            raise ForensicError("--top must be at least 1")
        found_by = run_search(SearchRequest(text=" ".join(hits) or None, limit=top, **search), settings)
        if not found_by.hits:
            raise ForensicError("the search found nothing to export")
        return [h.id for h in found_by.hits], found_by
    if not hits:
        raise ForensicError("give the HIT_ID(s) to export (the 'id' of search results), or --top N with a description")
    if any(search.get(k) for k in ("image", "classes", "colors", "cameras", "since", "until")):
        raise ForensicError("search options (--image, --class, --camera, ...) go with --top N")
    try:
        return list(dict.fromkeys(int(h) for h in hits)), None
    except ValueError:
        raise ForensicError(f"HIT_ID must be a number, got {' '.join(hits)!r} (to export a search's best hits use --top N)") from None


def exported_file(path: Path, named: Path | None = None) -> dict:
    """A written file as the audit log records it: its absolute path (`named`, where it will be once its folder
    is in place) and SHA-256."""
    return {"path": str(Path(named or path).resolve()), "sha256": sha256_file(path)}


def audit(settings: Settings, record: dict) -> dict:
    """Append an entry to the index's audit log; returns it (with its number and hash). AuditError when it
    cannot be written."""
    from forensic.evidence.audit import for_index

    return for_index(settings.index).append(record)


def handed_out(settings: Settings, record: dict, outputs: list[Path]) -> dict:
    """The audit entry of files just written for the user; when it cannot be written they are removed again
    (fail closed: nothing the audit log does not hold is handed out) and the AuditError goes on."""
    import shutil

    from forensic.errors import AuditError

    try:
        return audit(settings, record)
    except AuditError as e:
        for p in outputs:
            shutil.rmtree(p, ignore_errors=True) if Path(p).is_dir() else Path(p).unlink(missing_ok=True)
        raise AuditError(f"{e}; nothing handed out" + (f" ({', '.join(map(str, outputs))} removed)" if outputs else "")) from None


def record_search(settings: Settings, result, html: Path | None = None, *, force: bool = False) -> None:
    """search/similar: write the --html report (when asked), then the audit entry (the report is removed when that fails)."""
    record = result.record()
    exported = []
    if html is not None:
        write_search_report(Path(html), result, record["filters"], settings, force=force)
        exported.append(exported_file(html))
    handed_out(settings, {"command": result.request.command, **record, "hits": len(result.hits),
                          "hit_ids": [h.id for h in result.hits], "exported": exported}, [Path(html)] if html is not None else [])


def record_show(settings: Settings, hit_id: int, out: Path, context: float | None, step: float) -> dict:
    """show: the audit entry of the picture written (removed when the entry cannot be written)."""
    return handed_out(settings, {"command": "show", "query": {"hit": hit_id, "context": context, "step": step if context is not None else None},
                                 "hits": 1, "hit_ids": [hit_id], "exported": [exported_file(out)]}, [out])


def export_seal(settings: Settings, chosen: list[int], found_by, **how):
    """The `seal` of an export (forensic.evidence.export.export_hits): appends its audit entry, which records the
    SHA-256 of each file written and of the manifest (before the manifest names the entry)."""
    def seal(out: Path, manifest: dict, files_at: Path | None = None) -> dict:
        """`out`: the folder as it will be named; `files_at`: where its files are now (the export's work folder)."""
        from forensic.evidence.export import MANIFEST

        record = found_by.record() if found_by is not None else {"query": {"hits": chosen}, "filters": {}}
        at = files_at or out
        files = [exported_file(at / name, out / name) for name in [f["file"] for it in manifest["items"] for f in it["files"]] + [MANIFEST]]
        return audit(settings, {"command": "export", "query": record["query"], "filters": record["filters"], "hits": len(chosen),
                                "hit_ids": chosen, "folder": str(out.resolve()), **how, "exported": files})
    return seal
