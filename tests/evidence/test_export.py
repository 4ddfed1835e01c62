"""Export: the clip really holds the requested window of the original recording (stream copy from
the keyframe before, or exact re-encode), the frame is the hit's, the manifest's hashes verify and
one changed byte is caught; ffmpeg missing is one clear line."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
from pathlib import Path

import pytest

from evidencedata import CAMERAS, cli, decode_myself, error_lines, load, mean_diff, no_ffmpeg_path
from forensic.evidence.export import MANIFEST, SUMS, ExportItem, export_hits, manifest_body_sha256, verify_export
from forensic.evidence.frames import Place
from forensic.evidence.media import probe_times
from forensic.errors import ForensicError

# The clip windows, keyframes and frame identity on real recordings are the slow layer's; the manifest,
# its verification and the command line's refusals run on the synthetic index of the stub detector.
pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (CI installs it)")


def item(root: Path, hit_id: int) -> ExportItem:
    hit = load(root, hit_id)
    return ExportItem(hit, Place(hit.camera, hit.camera, ""), Path(hit.thumb).read_bytes())


def flip_byte(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.slow
def test_stream_copy_starts_at_the_keyframe_before_and_holds_the_window(tmp_path, evidence_index, rider_hit, umask_022):
    out = tmp_path / "case"
    manifest = export_hits([item(evidence_index, rider_hit)], out, before=1.5, after=1.5, index_root=evidence_index)
    (it,) = manifest["items"]
    hit = load(evidence_index, rider_hit)
    times = probe_times(Path(hit.video))
    at = times.time_of(hit.frame)
    want, clip = it["requested"], it["clip"]
    assert want["start"] == pytest.approx(at - 1.5, abs=1e-3) and want["end"] == pytest.approx(at + 1.5, abs=1e-3)
    assert clip["mode"] == "copy"
    assert clip["start"] <= want["start"] and clip["end"] >= want["end"]  # the window is covered
    assert want["start"] - clip["start"] < 0.4  # from the keyframe just before (one every 0.37 s here)
    assert any(abs(k - clip["start"]) < 1e-3 for k in times.keyframes)
    path = out / clip["file"]
    got = probe_times(path)
    assert len(got.pts) == clip["frames"] and got.span == pytest.approx(clip["end"] - clip["start"], abs=0.05)
    # the clip's pictures are the recording's, bit for bit once decoded: first and last frame
    first, last = clip["source_frames"]
    src = decode_myself(Path(hit.video), [first, first + 1, last])
    mine = decode_myself(path, [0, clip["frames"] - 1])
    assert mean_diff(mine[0], src[first]) < 0.05 and mean_diff(mine[0], src[first + 1]) > 1
    assert mean_diff(mine[clip["frames"] - 1], src[last]) < 0.05
    # the hit's own frame, lossless, and the source's hash computed independently
    frame_png = next(f for f in it["files"] if f["kind"] == "frame")
    assert mean_diff(decode_png(out / frame_png["file"]), decode_myself(Path(hit.video), [hit.frame])[hit.frame]) == 0
    assert it["source"]["sha256"] == hashlib.sha256(Path(hit.video).read_bytes()).hexdigest()
    assert it["hit_time"]["frame"] == hit.frame and it["hit"]["id"] == rider_hit
    assert it["frame_check"]["matches_index_thumbnail"] is True and it["frame_check"]["thumbnail_difference"] < 2
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.iterdir())
    assert manifest["tool"]["version"] and manifest["exported_by"]["user"] and "keyframe" in manifest["cut"]


def decode_png(path: Path):
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_COLOR)


@pytest.mark.slow
def test_exact_reencode_starts_on_the_requested_frame(tmp_path, evidence_index, suv_hit):
    """TRUCCAT has a single keyframe: a stream copy would start at 0 s; --exact starts on time."""
    out = tmp_path / "exact"
    manifest = export_hits([item(evidence_index, suv_hit)], out, before=0.5, after=0.5, exact=True)
    (it,) = manifest["items"]
    clip, want = it["clip"], it["requested"]
    assert clip["mode"] == "exact" and clip["video_codec"] == "h264"
    assert clip["start"] == pytest.approx(want["start"], abs=0.034) and clip["start"] >= want["start"] - 1e-3
    assert clip["end"] >= want["end"] - 1e-3 and clip["end"] - want["end"] < 0.07
    first = clip["source_frames"][0]
    hit = load(evidence_index, suv_hit)
    src = decode_myself(Path(hit.video), [first - 1, first, first + 1])
    mine = decode_myself(out / clip["file"], [0])[0]
    assert mean_diff(mine, src[first]) < min(mean_diff(mine, src[first - 1]), mean_diff(mine, src[first + 1]))
    assert probe_times(out / clip["file"]).span == pytest.approx(clip["end"] - clip["start"], abs=0.05) == clip["duration"]


@pytest.mark.slow
def test_stream_copy_of_a_single_keyframe_file_starts_at_zero_and_says_so(tmp_path, evidence_index, suv_hit):
    manifest = export_hits([item(evidence_index, suv_hit)], tmp_path / "copy", before=0.5, after=0.5)
    (it,) = manifest["items"]
    assert it["clip"]["start"] == 0.0 and it["requested"]["start"] > 1.0 and it["clip"]["end"] >= it["requested"]["end"]


def test_verify_passes_then_catches_one_flipped_byte_and_other_changes(tmp_path, stub_evidence_index, car_hit):
    out = tmp_path / "case"
    export_hits([item(stub_evidence_index, car_hit)], out, before=0.5, after=0.5)
    assert verify_export(out).ok
    clip = next(out.glob("*-clip.*"))
    flip_byte(clip)
    v = verify_export(out)
    assert not v.ok and v.problems == [f"{clip.name}: changed (sha256 {hashlib.sha256(clip.read_bytes()).hexdigest()[:16]}..., "
                                       f"manifest says {json.loads((out / MANIFEST).read_text())['items'][0]['files'][0]['sha256'][:16]}...)"]
    flip_byte(clip)
    assert verify_export(out).ok
    (out / "hit-0-note.txt").write_text("added later")
    assert any("not in the manifest" in p for p in verify_export(out).problems)
    (out / "hit-0-note.txt").unlink()
    next(out.glob("*-thumb.jpg")).unlink()
    assert any(p.endswith("missing") for p in verify_export(out).problems)


def test_a_rewritten_manifest_is_caught_by_sha256sums(tmp_path, stub_evidence_index, car_hit):
    out = tmp_path / "case"
    export_hits([item(stub_evidence_index, car_hit)], out, before=0.5, after=0.5)
    m = json.loads((out / MANIFEST).read_text())
    m["items"][0]["requested"]["start"] += 5
    (out / MANIFEST).write_text(json.dumps(m))
    assert not verify_export(out).ok
    lines = (out / SUMS).read_text().splitlines()
    assert len(lines) == 5 and lines[-1].endswith(f"  {MANIFEST}")


def test_refuses_a_folder_that_is_not_empty(tmp_path, stub_evidence_index, car_hit):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(ForensicError, match="not empty"):
        export_hits([item(stub_evidence_index, car_hit)], tmp_path)


# --- the command line ----------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_export_verify_and_audit(tmp_path, evidence_index):
    out = tmp_path / "case-1"
    search = cli("--index", str(evidence_index), "search", "red motorbike", "--json", "--limit", "3")
    hit_id = json.loads(search.stdout)[0]["id"]
    result = cli("--index", str(evidence_index), "--cameras", str(CAMERAS), "export", str(hit_id), "--out", str(out),
                 "--before", "1", "--after", "1")
    assert result.exit_code == 0, result.output
    assert f"hit {hit_id}: hit-{hit_id}-clip.mp4" in result.stdout and "manifest:" in result.stdout
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["items"][0]["found_by"]["command"] == "search"  # which search returned this hit, and who ran it
    assert manifest["items"][0]["camera"]["name"] in ("Ngã tư Tân Phú", "Ngã tư Trực Cát")
    entry = json.loads((evidence_index / "audit.jsonl").read_text().splitlines()[-1])
    assert entry["command"] == "export" and entry["hit_ids"] == [hit_id] and entry["folder"] == str(out.resolve())
    assert {Path(f["path"]).name: f["sha256"] for f in entry["exported"]} == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.name != MANIFEST else manifest_body_sha256(manifest)
        for p in out.iterdir() if p.name != SUMS}  # the manifest as it was before it named its audit entry
    assert manifest["audit"]["seq"] == entry["seq"] and manifest["audit"]["hash"] == entry["hash"]
    assert f"audit log head: {entry['hash']}" in result.stdout  # for the case file
    ok = cli("--index", str(evidence_index), "export", "--verify", str(out))
    assert ok.exit_code == 0 and f"{out}: ok: 4 files match" in ok.stdout and f"audit entry {entry['seq']}" in ok.stdout
    flip_byte(out / f"hit-{hit_id}-clip.mp4", 0.7)
    bad = cli("--index", str(evidence_index), "export", "--verify", str(out))
    assert bad.exit_code == 1 and f"problem: hit-{hit_id}-clip.mp4: changed" in bad.stdout and "FAILED" in bad.stdout


def recompute_sums(out: Path) -> None:
    """What someone covering an edit does: SHA256SUMS made again from the files as they are now."""
    names = [line.split("  ", 1)[1] for line in (out / SUMS).read_text().splitlines()]
    (out / SUMS).write_text("".join(f"{hashlib.sha256((out / n).read_bytes()).hexdigest()}  {n}\n" for n in names))


def test_cli_export_verify_names_what_was_changed(tmp_path, evidence_index, rider_hit):
    """Issue 11: a copied export with an edited manifest and a recomputed SHA256SUMS verified "ok". The manifest
    is bound to its audit entry, which recorded its hash: the edit is found and the line says which file."""
    out = tmp_path / "case"
    assert cli("--index", str(evidence_index), "export", str(rider_hit), "--out", str(out), "--before", "0.5", "--after", "0.5").exit_code == 0
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    m = json.loads((copy / MANIFEST).read_text())
    m["items"][0]["hit_time"]["wall_clock"] = "2026-11-21T03:00:00.000+07:00"  # the hit moved to another hour
    (copy / MANIFEST).write_text(json.dumps(m, ensure_ascii=False, indent=2) + "\n")
    recompute_sums(copy)
    assert verify_export(copy).ok  # the folder alone cannot tell
    edited = cli("--index", str(evidence_index), "export", "--verify", str(copy))
    assert edited.exit_code == 1 and f"problem: {MANIFEST} was changed after the export" in edited.stdout, edited.output
    assert f"({SUMS} was recomputed to match it)" in edited.stdout
    sums = tmp_path / "sums"
    shutil.copytree(out, sums)
    text = (sums / SUMS).read_text().splitlines()
    text[0] = "0" * 64 + text[0][64:]
    (sums / SUMS).write_text("\n".join(text) + "\n")
    changed = cli("--index", str(evidence_index), "export", "--verify", str(sums))
    assert changed.exit_code == 1 and f"problem: {SUMS} lists another hash for {text[0][66:]}" in changed.stdout, changed.output
    assert MANIFEST + " was changed" not in changed.stdout
    elsewhere = cli("--index", str(tmp_path / "no-index"), "export", "--verify", str(copy))
    assert "NOT checked against the audit log" in elsewhere.stdout


def test_cli_export_that_cannot_be_audited_hands_nothing_out(tmp_path, evidence_index, rider_hit):
    log = evidence_index / "audit.jsonl"
    saved = log.read_bytes() if log.exists() else b""
    log.unlink(missing_ok=True)
    log.mkdir()  # appending fails whoever runs the test (root ignores permissions)
    out, picture = tmp_path / "case", tmp_path / "frame.jpg"
    try:
        exported = cli("--index", str(evidence_index), "export", "--top", "1", "--out", str(out), "--before", "0.5", "--after", "0.5",
                       "motorbike")  # written in full, then the audit entry fails: the folder is removed
        shown = cli("--index", str(evidence_index), "show", str(rider_hit), "--out", str(picture))
    finally:
        log.rmdir()
        log.write_bytes(saved)
        log.chmod(0o600)
    for result in (exported, shown):
        assert result.exit_code == 4 and "cannot write the audit log" in error_lines(result)[0] and "nothing handed out" in result.stderr
    assert not out.exists() and not picture.exists()


@pytest.mark.slow
def test_cli_export_top_n_of_a_search(tmp_path, evidence_index):
    out = tmp_path / "top"
    result = cli("--index", str(evidence_index), "export", "--top", "2", "--out", str(out), "--before", "0.5", "--after", "0.5",
                 "white car")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / MANIFEST).read_text())
    assert len(manifest["items"]) == 2 and manifest["query"]["text"] == "white car"
    assert manifest["query"]["understood"]["class"] == ["car"] and manifest["query"]["understood"]["colour"] == ["white"]
    assert all(it["hit"]["class"] == "car" and it["hit"]["score"] > 0 for it in manifest["items"])
    assert verify_export(out).ok


def test_cli_missing_ffmpeg_is_one_clear_line(tmp_path, stub_evidence_index, car_hit):
    out = tmp_path / "never"
    result = cli("--index", str(stub_evidence_index), "export", str(car_hit), "--out", str(out), env={"PATH": no_ffmpeg_path(tmp_path)})
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = error_lines(result)
    assert result.stderr.count("\n") == 1
    assert "ffmpeg not found on PATH" in line and "apt install ffmpeg" in line
    assert not out.exists()


@pytest.mark.parametrize("args, words", [
    (["12x"], "HIT_ID must be a number"),
    ([], "give the HIT_ID"),
    (["1", "--camera", "acview"], "go with --top"),
])
def test_cli_bad_export_arguments(tmp_path, stub_evidence_index, args, words):
    result = cli("--index", str(stub_evidence_index), "export", *args, "--out", str(tmp_path / "x"))
    assert result.exit_code == 2 and len(error_lines(result)) == 1 and words in result.stderr


def test_cli_verify_a_folder_that_is_no_export(tmp_path, stub_evidence_index):
    result = cli("--index", str(stub_evidence_index), "export", "--verify", str(tmp_path))
    assert result.exit_code == 1 and "manifest.json is missing" in result.stdout

