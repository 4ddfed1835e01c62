"""The logic of the maintenance and evidence commands (cameras, prune, which hits an export takes, export
--verify, the audit entries of search, show and export), apart from how the CLI shows it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

from forensic.api import SearchRequest, run_search
from forensic.cameras import load_cameras
from forensic.errors import ForensicError
from forensic.evidence.audit import AuditLog
from forensic.evidence.export import MANIFEST, sha256_file, verify_export
from forensic.evidence.report import write_search_report
from forensic.index.store import IndexStore
from forensic.search.hits import clock_of
from forensic.settings import Settings


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
    times = dict(row)
    times["clock_timezone"] = times.get("timezone")
    wall, how = clock_of(times, config)
    return {"path": row["path"], "start": wall.start.isoformat() if wall is not None else None, "time_source": row["time_source"],
            "recomputed": bool(how.get("recomputed")), **({"stale": how["stale"]} if how.get("stale") else {}), "clock": clock}


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


def check_export(folder: Path, settings: Settings):
    """export --verify: the folder's hashes, and its manifest against the one the audit log recorded."""
    if not folder.is_dir():
        raise ForensicError(f"{folder} is not a folder")
    result = verify_export(folder)
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


def exported_file(path: Path) -> dict:
    """A written file as the audit log records it: its absolute path and SHA-256."""
    return {"path": str(Path(path).resolve()), "sha256": sha256_file(path)}


def audit(settings: Settings, record: dict) -> dict:
    """Append an entry to the index's audit log; returns it (with its number and hash)."""
    return AuditLog(settings.index).append(record)


def record_search(settings: Settings, result, html: Path | None = None, *, force: bool = False) -> None:
    """search/similar: write the --html report (when asked), then the audit entry."""
    record = result.record()
    exported = []
    if html is not None:
        write_search_report(Path(html), result, record["filters"], settings, force=force)
        exported.append(exported_file(html))
    audit(settings, {"command": result.request.command, **record, "hits": len(result.hits),
                     "hit_ids": [h.id for h in result.hits], "exported": exported})


def record_export(settings: Settings, out: Path, manifest: dict, chosen: list[int], found_by, **how) -> tuple[dict, list[dict]]:
    """The audit entry of an export (each file written, with its hash); returns (entry, files)."""
    record = found_by.record() if found_by is not None else {"query": {"hits": chosen}, "filters": {}}
    files = [exported_file(out / f["file"]) for it in manifest["items"] for f in it["files"]] + [exported_file(out / MANIFEST)]
    entry = audit(settings, {"command": "export", "query": record["query"], "filters": record["filters"], "hits": len(chosen),
                             "hit_ids": chosen, "folder": str(out.resolve()), **how, "exported": files})
    return entry, files
