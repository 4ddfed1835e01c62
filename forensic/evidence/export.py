"""Export hits for a case file: the clip around each hit cut from the original recording, the hit's
exact frame (lossless, untouched), the same frame with its box and caption, the index thumbnail,
and a manifest with SHA-256 hashes of the source and of every exported file.

A stream-copied clip (the default) keeps the recorded pictures bit for bit but can only start at a
keyframe: it starts at the keyframe at or before the requested start, and the manifest records the
range the clip really holds (from its frames, read back with ffprobe). `exact=True` re-encodes
(libx264) to start and end on the requested frames.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np

from forensic import __version__
from forensic.errors import AuditError, ForensicError, Interrupted, interruptible
from forensic.evidence.audit import whoami
from forensic.evidence.frames import (THUMB_MATCH, FrameSource, Place, annotated_frame, clock_text, encode_image, encode_jpeg, locate,
                                      wall_time)
from forensic.evidence.media import (LOCAL_ONLY, MediaError, MediaTimes, ffmpeg_release, ffmpeg_version, file_url,
                                     find_tool, probe_times, run_tool, stop_all)
from forensic.files import Content, begin_folder, discard_folder, inside, publish_folder, sha256_file, write_private
from forensic.index import recordings

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
FORMAT = "forensic-export/1"
COPY_CONTAINERS = {".mp4", ".mov", ".m4v", ".mkv"}
CUT_NOTE = ("stream copy: the clip holds the recorded frames unchanged and starts at the keyframe at or before the "
            "requested start, so it may begin earlier; clip.start/clip.end are the times it really holds, measured "
            "from its frames")
AUDIT_NOTE = ("the audit entry of this export (seq, hash) in the index's audit.jsonl: it records the SHA-256 of every file "
              "and of this manifest without its 'audit' part (manifest_sha256); 'forensic export --verify' checks both")
EXACT_NOTE = "exact: re-encoded with libx264 (crf 18) so the clip starts and ends on the requested frames"


@dataclass
class ExportItem:
    hit: object  # forensic.search.hits.Hit
    place: Place
    thumb: bytes | None = None  # the index thumbnail
    found_by: dict | None = None  # the audit entry of the search that returned this hit
    video_row: object = None  # the index's row of the hit's video (its content fingerprint), when known


def export_hits(items: list[ExportItem], out: Path, before: float = 10.0, after: float = 10.0, exact: bool = False,
                query: dict | None = None, index_root: Path | None = None, seal: Callable[[Path, dict, Path], dict] | None = None) -> dict:
    """Write the clips, frames, thumbnails, manifest.json and SHA256SUMS into the new folder `out`.

    Returns the manifest. `out` must not exist or be empty: an evidence folder holds one export. It appears
    whole or not at all: everything is written into a hidden work folder beside it (`.NAME.partial-XXXXXXXX`)
    that is renamed to `out` once complete. SIGTERM or Ctrl-C meanwhile stops ffmpeg, removes the work folder
    and raises Interrupted; a work folder left by a kill -9 is removed by the next export beside it. `seal(out,
    manifest, files)` appends the export's audit entry (naming `out`, hashing the files in the work folder `files`)
    once every file and the manifest are written, and returns it (with its seq and hash); the manifest then names
    that entry ("audit") and SHA256SUMS is written last. When sealing fails (the audit log cannot be written)
    nothing is published: nothing unaccounted is handed out.
    """
    if not (math.isfinite(before) and math.isfinite(after)) or before < 0 or after < 0 or before + after <= 0:
        raise ForensicError("--before and --after must be 0 or more seconds, and not both 0")
    if not items:
        raise ForensicError("nothing to export (no hits)")
    find_tool("ffmpeg")
    find_tool("ffprobe")
    for it in items:
        if not Path(it.hit.video).is_file():
            raise ForensicError(f"hit {it.hit.id}: source video {it.hit.video} is not there any more (moved or deleted?)")
    sources: dict[str, dict] = {}
    for it in items:  # hashed before anything is written: a recording that changed since it was indexed is refused
        key = os.path.abspath(it.hit.video)
        if key not in sources:
            sources[key] = _source(Path(it.hit.video), it.video_row, it.hit.id)
    out = Path(out)
    if index_root is not None and inside(out, index_root):
        raise ForensicError(f"--out {out} is inside the index folder {index_root}: only the index writes there; "
                            "export into a new folder elsewhere")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ForensicError(f"{out} already exists and is not empty: export into a new folder")
    with interruptible(stop_all):  # SIGTERM/Ctrl-C: every ffmpeg is stopped and waited for, the work folder removed
        work, lock = begin_folder(out)
        try:
            manifest = _write(items, work, before, after, exact, query, index_root, sources, seal, out)
            publish_folder(work, out)
        except BaseException as e:
            discard_folder(work, out, lock)  # also when a signal came just after the rename: the caller gets no manifest
            if isinstance(e, Interrupted):
                raise Interrupted(e.signum, f"export interrupted by {e.signame}: ffmpeg stopped, nothing written at {out} "
                                  "(run it again)") from None
            raise
        finally:
            os.close(lock)
    return manifest


def _write(items: list[ExportItem], out: Path, before: float, after: float, exact: bool, query: dict | None,
           index_root: Path | None, sources: dict, seal, final: Path) -> dict:
    """Write the export into the work folder `out` (renamed to `final` by export_hits once complete)."""
    started = datetime.now().astimezone()
    entries = []
    for it in items:
        entries.append(_export_one(it, out, before, after, exact, sources))
    manifest = {
        "format": FORMAT,
        "tool": {"name": "forensic", "version": __version__, "ffmpeg": ffmpeg_version()},
        "exported_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "exported_by": whoami(),
        "index": str(Path(index_root).resolve()) if index_root else None,
        "query": query,
        "cut": EXACT_NOTE if exact else CUT_NOTE,
        "items": entries,
    }
    write_private(out / MANIFEST, manifest_bytes(manifest))
    if seal is not None:
        try:
            entry = seal(final, manifest, out)
        except AuditError as e:  # fail closed: an export the audit log does not hold is not handed out (export_hits removes it)
            raise AuditError(f"{e}; nothing handed out (nothing written at {final})") from None
        manifest["audit"] = {"index": manifest["index"], "seq": entry["seq"], "hash": entry["hash"],
                             "manifest_sha256": hashlib.sha256(manifest_bytes(manifest)).hexdigest(), "what": AUDIT_NOTE}
        write_private(out / MANIFEST, manifest_bytes(manifest))
    names = sorted(f["file"] for e in entries for f in e["files"]) + [MANIFEST]
    sums = "".join(f"{sha256_file(out / n)}  {n}\n" for n in names)
    write_private(out / SUMS, sums.encode())
    return manifest


def _export_one(it: ExportItem, out: Path, before: float, after: float, exact: bool, sources: dict) -> dict:
    hit = it.hit
    src = Path(hit.video)
    times = probe_times(src)
    if times is None:
        raise MediaError(f"cannot cut {src}: its container gives no frame times (a raw stream); remux it to .mkv first")
    key = os.path.abspath(src)
    index, frame, diff = locate(FrameSource(src), hit, it.thumb)  # the frame the indexer saw, checked
    hit.frame = index
    at = times.time_of(hit.frame)
    want = (max(0.0, at - before), min(times.duration, at + after))
    prefix = f"hit-{hit.id}"
    clip, cut = _cut(src, times, want, out, prefix, exact)
    files = [_file(out, clip.name, "clip", "the recording from clip.start to clip.end")]
    write_private(out / f"{prefix}-frame.png", encode_image(frame, ".png"))
    files.append(_file(out, f"{prefix}-frame.png", "frame", f"frame {hit.frame} as decoded from the source, lossless, nothing drawn"))
    write_private(out / f"{prefix}-frame-boxed.jpg", encode_jpeg(annotated_frame(frame, hit, it.place), 92))
    files.append(_file(out, f"{prefix}-frame-boxed.jpg", "frame with box", "the same frame with the hit's box and a caption"))
    if it.thumb:
        write_private(out / f"{prefix}-thumb.jpg", it.thumb)
        files.append(_file(out, f"{prefix}-thumb.jpg", "thumbnail", "the crop stored in the index when the footage was indexed"))
    plate = dict(hit.plate) if getattr(hit, "plate", None) else None
    if plate:  # the plate crop goes with the thumbnail; the manifest names the copy, not the index file
        crop, plate["crop"] = plate.get("crop"), None
        if crop and Path(crop).is_file():
            write_private(out / f"{prefix}-plate.jpg", Path(crop).read_bytes())
            files.append(_file(out, f"{prefix}-plate.jpg", "plate", f"the licence plate crop stored in the index (read as {plate['text']})"))
            plate["crop"] = f"{prefix}-plate.jpg"
    def wall(t: float) -> str | None:  # video seconds -> wall clock, as the hit's time was made (real seconds, across DST)
        return wall_time(hit, t - hit.t)

    return {
        "hit": hit.to_json() | {"score": round(hit.score, 4) if hit.score else None, "thumb": None} | ({"plate": plate} if plate else {}),
        "camera": {"id": it.place.id, "name": it.place.name, "place": it.place.place},
        "found_by": it.found_by,
        "source": sources[key],
        "hit_time": {"video_seconds": round(at, 3), "frame": hit.frame, "wall_clock": wall(at), "wall_clock_source": hit.time_source,
                     "indexed_video_seconds": round(hit.t, 3), "clock": getattr(hit, "clock", None), "clock_text": clock_text(hit)}
        | ({"note": f"the index gives this hit {hit.t:.3f} s but its frame is shown at {at:.3f} s (presentation timestamp): "
                    "the times here are the frame's; re-index the recording"} if abs(at - hit.t) > max(times.frame_duration, 1e-3) else {}),
        "frame_check": {"thumbnail_difference": None if diff is None else round(diff, 3),
                        "matches_index_thumbnail": None if diff is None else diff <= THUMB_MATCH,
                        "what": "the index thumbnail re-made from the exported frame, compared with the stored one "
                                "(mean absolute difference, 0-255)"},
        "requested": {"start": round(want[0], 3), "end": round(want[1], 3), "before": before, "after": after,
                      "start_wall_clock": wall(want[0]), "end_wall_clock": wall(want[1])},
        "clip": cut | {"file": clip.name, "start_wall_clock": wall(cut["start"]), "end_wall_clock": wall(cut["end"])},
        "files": files,
    }


def manifest_bytes(manifest: dict) -> bytes:
    """The manifest as written (json.loads then this gives the same bytes back)."""
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def manifest_body_sha256(manifest: dict) -> str:
    """SHA-256 of the manifest as it was before its "audit" part was added: what its audit entry recorded."""
    return hashlib.sha256(manifest_bytes({k: v for k, v in manifest.items() if k != "audit"})).hexdigest()


def _source(src: Path, row, hit_id: int) -> dict:
    """The source recording as the manifest records it, hashed in full and compared with the SHA-256 the index
    recorded when it indexed it (IntegrityError naming both hashes when they differ)."""
    log.info("hashing %s", src)
    st = src.stat()
    digest = sha256_file(src)
    if os.stat(src).st_mtime_ns != st.st_mtime_ns:
        raise ForensicError(f"{src} changed while it was being hashed: export again when nothing writes to it")
    note = recordings.refuse_if_changed(row, Content(digest, "", st.st_size, st.st_mtime), f"export hit {hit_id}") if row is not None else None
    if note:
        log.warning("%s", note)
    return {"path": os.path.abspath(src), "size": st.st_size,
            "modified": datetime.fromtimestamp(st.st_mtime).astimezone().isoformat(timespec="seconds"), "sha256": digest,
            "indexed_sha256": recordings.indexed_hash(row),
            "fingerprint": "the recording that was indexed (same SHA-256)" if note is None and row is not None else recordings.NO_FINGERPRINT}


def _file(out: Path, name: str, kind: str, what: str) -> dict:
    path = out / name
    os.chmod(path, 0o600)
    return {"file": name, "kind": kind, "what": what, "size": path.stat().st_size, "sha256": sha256_file(path)}


def _cut(src: Path, times: MediaTimes, want: tuple[float, float], out: Path, prefix: str, exact: bool) -> tuple[Path, dict]:
    """Run ffmpeg; return the clip and the range it really holds, measured from its frames."""
    fd = times.frame_duration
    last = times.index_at(want[1] - 1e-6) if want[1] > want[0] else times.index_at(want[0])
    if exact:
        first = int(np.searchsorted(times.pts, want[0] - 1e-6))
        n = max(1, min(last - first + 1, len(times.pts) - first))
        seek = ["-ss", f"{times.seek_point(first)[0]:.6f}"]
        span = float(times.pts[first + n - 1] + fd - times.pts[first])
        sync = ["-fps_mode", "passthrough"] if ffmpeg_release() >= (5, 1) else ["-vsync", "passthrough"]
        codec = ["-frames:v", str(n), *sync, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-b:a", "128k"]
        containers = [".mp4"]
    else:
        keys = times.keyframes[times.keyframes <= times.pts[times.index_at(want[0])] + 1e-6]
        key = float(keys[-1]) if len(keys) else float(times.pts[0])
        first = int(np.searchsorted(times.pts, key - 1e-6))
        # a hair after the keyframe: ffmpeg seeks back to it, and rounding can never land on the one before
        seek = ["-ss", f"{key + min(0.001, fd / 4):.6f}"]
        span = float(times.pts[last] + fd - key)
        codec = ["-c", "copy"]
        ext = src.suffix.lower()
        containers = [ext, ".mkv"] if ext in COPY_CONTAINERS - {".mkv"} else [".mkv"]
    for n_try, ext in enumerate(containers):
        clip = out / f"{prefix}-clip{ext}"
        args = ["-nostdin", "-hide_banner", "-v", "error", "-n", *LOCAL_ONLY, *seek, "-i", file_url(src), "-t", f"{span + fd / 2:.6f}",
                "-map", "0:v:0", "-map", "0:a?", *codec, "-avoid_negative_ts", "make_zero"]
        if ext in (".mp4", ".mov", ".m4v"):
            args += ["-movflags", "+faststart"]
        try:
            run_tool("ffmpeg", [*args, file_url(clip)], f"cutting {src.name}", timeout=3600)
            break
        except MediaError:
            clip.unlink(missing_ok=True)
            if n_try == len(containers) - 1:
                raise
            log.info("%s cannot hold these streams as they are; writing %s instead", ext, containers[n_try + 1])
    got = probe_times(clip)
    n = len(got.pts) if got is not None else 0
    if n == 0:
        raise MediaError(f"ffmpeg wrote no video frames to {clip}")
    end_index = min(first + n - 1, len(times.pts) - 1)
    cut = {"mode": "exact" if exact else "copy", "start": round(float(times.pts[first]), 3),
           "end": round(float(times.pts[end_index] + fd), 3), "frames": n, "source_frames": [first, end_index],
           "duration": round(got.span, 3), "video_codec": got.codec, "audio": got.audio,
           "ffmpeg_args": args[:args.index("-i") + 1] + ["<source>"] + args[args.index("-i") + 2:] + ["<clip>"]}
    if not exact and first + n - 1 >= len(times.pts):
        cut["warning"] = "the clip holds more frames than the source lists: its end time is an estimate"
    return clip, cut


@dataclass
class Verification:
    ok: bool
    checked: list[str] = field(default_factory=list)  # files whose hashes match
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manifest_sha256: str | None = None


def verify_export(folder: Path, check_source: bool = True) -> Verification:
    """Re-hash every file the manifest lists (and the source recording, where it still is)."""
    folder = Path(folder)
    v = Verification(ok=False)
    path = folder / MANIFEST
    if not path.is_file():
        v.problems.append(f"{path} is missing: not an export folder")
        return v
    v.manifest_sha256 = sha256_file(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        items = manifest["items"]
        listed = {f["file"]: f for it in items for f in it["files"]}
    except (ValueError, KeyError, TypeError) as e:
        v.problems.append(f"{MANIFEST} is not a forensic export manifest ({e.__class__.__name__}: {e})")
        return v
    for name, f in sorted(listed.items()):
        if Path(name).name != name or name in (".", ".."):
            v.problems.append(f"{MANIFEST} names a file outside the folder: {name!r}")
            continue
        p = folder / name
        if not p.is_file():
            v.problems.append(f"{name}: missing")
        elif (digest := sha256_file(p)) != f.get("sha256"):
            v.problems.append(f"{name}: changed (sha256 {digest[:16]}..., manifest says {str(f.get('sha256'))[:16]}...)")
        else:
            v.checked.append(name)
    for p in sorted(folder.iterdir()):
        if p.name not in listed and p.name not in (MANIFEST, SUMS):
            v.problems.append(f"{p.name}: not in the manifest (added after the export)")
    sums = folder / SUMS
    if sums.is_file():
        want = {ln.split("  ", 1)[1]: ln.split("  ", 1)[0] for ln in sums.read_text().splitlines() if "  " in ln}
        if want.get(MANIFEST) != v.manifest_sha256:
            v.problems.append(f"{MANIFEST}: changed ({SUMS} lists another hash)")
        for name, digest in sorted(want.items()):
            if name != MANIFEST and name in listed and listed[name].get("sha256") != digest:
                v.problems.append(f"{SUMS} lists another hash for {name} than {MANIFEST} does: one of them was edited")
            elif name != MANIFEST and name not in listed:
                v.problems.append(f"{SUMS} lists {name}, which {MANIFEST} does not")
    else:
        v.notes.append(f"{SUMS} is missing")
    if check_source:
        for src in {it["source"]["path"]: it["source"] for it in items}.values():
            p = Path(src["path"])
            if not p.is_file():
                v.notes.append(f"source {p} is not here: not re-checked")
            elif sha256_file(p) != src["sha256"]:
                v.problems.append(f"source {p} has changed since the export (sha256 differs)")
            else:
                v.notes.append(f"source {p} still matches")
    v.ok = not v.problems
    return v
