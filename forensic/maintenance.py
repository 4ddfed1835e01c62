"""The logic of the maintenance and evidence commands (cameras, prune, which hits an export takes, export
--verify, the audit entries of search, show and export), apart from how the CLI shows it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from forensic.cameras import load_cameras
from forensic.errors import ForensicError
from forensic.index.store import IndexStore
from forensic.settings import Settings


def list_cameras(settings: Settings) -> tuple[Path | None, list[dict]]:
    """(the cameras file, every camera with the indexed videos it owns): the configured cameras first,
    then the folder-named ones found only in the index."""
    index_exists = (settings.index / "index.sqlite").exists()
    config = load_cameras(settings.cameras, settings.index if index_exists else None)
    videos = []
    if index_exists:
        with IndexStore(settings.index) as store:
            videos = store.videos("done")
    out = []
    for cam in config.cameras:
        owned = [r["path"] for r in videos if r["camera"] == cam.id or cam.owns(r["path"])]
        out.append({"id": cam.id, "name": cam.name, "places": list(cam.places), "match": list(cam.match), "timezone": cam.timezone,
                    "clock_offset": cam.clock_offset, "videos": owned})
    configured = {c.id for c in config.cameras}
    for name in sorted({r["camera"] for r in videos} - configured):
        out.append({"id": name, "name": name, "places": [], "match": [], "timezone": None, "clock_offset": 0,
                    "videos": [r["path"] for r in videos if r["camera"] == name and not any(c.owns(r["path"]) for c in config.cameras)]})
    return config.source, out


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
        lines.append(f"note: {len(unknown)} recordings have {recordings.NO_FINGERPRINT} (e.g. {unknown[0]}); re-index them "
                     "with --replace-changed to fingerprint them")
    checked = sum(1 for r in videos if recordings.indexed_hash(r)) - sum(1 for ln in lines if ln.startswith("note: recording"))
    lines.append(f"recordings: {checked} checked ({'fast: size, time and sampled blocks' if fast else 'full SHA-256'})")
    lines.append(f"{settings.index}: {'ok' if ok else 'PROBLEMS'}")
    return lines, ok


def check_export(folder: Path, settings: Settings):
    """export --verify: the folder's hashes, and its manifest against the one the audit log recorded."""
    from forensic.evidence.audit import AuditLog
    from forensic.evidence.export import MANIFEST, verify_export

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
    from forensic.api import SearchRequest, run_search

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
    from forensic.evidence.export import sha256_file

    return {"path": str(Path(path).resolve()), "sha256": sha256_file(path)}


def audit(settings: Settings, record: dict) -> dict:
    """Append an entry to the index's audit log; returns it (with its number and hash)."""
    from forensic.evidence.audit import AuditLog

    return AuditLog(settings.index).append(record)


def record_search(settings: Settings, result, html: Path | None = None, *, force: bool = False) -> None:
    """search/similar: write the --html report (when asked), then the audit entry."""
    record = result.record()
    exported = []
    if html is not None:
        from forensic.evidence.report import write_search_report

        write_search_report(Path(html), result, record["filters"], settings, force=force)
        exported.append(exported_file(html))
    audit(settings, {"command": result.request.command, **record, "hits": len(result.hits),
                     "hit_ids": [h.id for h in result.hits], "exported": exported})


def record_export(settings: Settings, out: Path, manifest: dict, chosen: list[int], found_by, **how) -> tuple[dict, list[dict]]:
    """The audit entry of an export (each file written, with its hash); returns (entry, files)."""
    from forensic.evidence.export import MANIFEST

    record = found_by.record() if found_by is not None else {"query": {"hits": chosen}, "filters": {}}
    files = [exported_file(out / f["file"]) for it in manifest["items"] for f in it["files"]] + [exported_file(out / MANIFEST)]
    entry = audit(settings, {"command": "export", "query": record["query"], "filters": record["filters"], "hits": len(chosen),
                             "hit_ids": chosen, "folder": str(out.resolve()), **how, "exported": files})
    return entry, files
