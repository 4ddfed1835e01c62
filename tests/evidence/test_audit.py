"""The audit log: every search, show and export is one chained line; an edited, deleted or added
line is found (the first bad one is named), concurrent appends never fork the chain."""

from __future__ import annotations

import json
import multiprocessing
import stat
from pathlib import Path

import pytest

from evidencedata import cli
from forensic.evidence.audit import GENESIS, HEAD_NAME, LOG_NAME, AuditLog, entry_hash


def filled(root: Path, n: int = 4) -> AuditLog:
    log = AuditLog(root)
    for k in range(n):
        log.append({"command": "search", "query": {"text": f"red motorbike {k}"}, "filters": {"limit": 5}, "hits": k, "hit_ids": list(range(k)),
                    "exported": []})
    return log


def lines(root: Path) -> list[str]:
    return (root / LOG_NAME).read_text().splitlines()


def rewrite(root: Path, new: list[str]) -> None:
    (root / LOG_NAME).write_text("".join(x + "\n" for x in new))


def test_entries_are_chained_and_private(tmp_path, umask_022):
    log = filled(tmp_path)
    entries = list(log.entries())
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[0]["prev"] == GENESIS and all(b["prev"] == a["hash"] for a, b in zip(entries, entries[1:]))
    assert all(e["hash"] == entry_hash(e) for e in entries)
    assert entries[0]["user"] and entries[0]["time"] and entries[0]["command"] == "search" and entries[2]["hits"] == 2
    check = log.verify()
    assert check.ok and check.entries == 4 and check.head == entries[-1]["hash"]
    assert stat.S_IMODE((tmp_path / LOG_NAME).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / HEAD_NAME).stat().st_mode) == 0o600


def test_an_edited_line_is_named(tmp_path):
    log = filled(tmp_path)
    text = lines(tmp_path)
    text[1] = text[1].replace('"hits": 1', '"hits": 7')
    rewrite(tmp_path, text)
    check = log.verify()
    assert not check.ok and check.bad_line == 2 and "changed" in check.reason


def test_an_edit_with_a_recomputed_hash_breaks_the_next_line(tmp_path):
    log = filled(tmp_path)
    text = lines(tmp_path)
    e = json.loads(text[1])
    e["query"]["text"] = "white car"
    e["hash"] = entry_hash(e)
    text[1] = json.dumps(e, ensure_ascii=False)
    rewrite(tmp_path, text)
    check = log.verify()
    assert not check.ok and check.bad_line == 3 and "does not follow" in check.reason


def test_a_deleted_line_is_found(tmp_path):
    log = filled(tmp_path)
    text = lines(tmp_path)
    rewrite(tmp_path, text[:1] + text[2:])
    check = log.verify()
    assert not check.ok and check.bad_line == 2 and "deleted" in check.reason


def test_deleting_the_last_lines_is_found_even_after_new_appends(tmp_path):
    log = filled(tmp_path)
    rewrite(tmp_path, lines(tmp_path)[:-2])
    check = log.verify()
    assert not check.ok and check.bad_line is None and "last 2 entries were deleted" in check.reason
    log.append({"command": "search", "hits": 0})  # the next search chains on from the head: the gap stays visible
    check = log.verify()
    assert not check.ok and check.bad_line == 3


def test_a_torn_last_line_stays_visible_and_appends_go_on(tmp_path):
    log = filled(tmp_path, 2)
    with open(tmp_path / LOG_NAME, "a") as f:
        f.write('{"seq": 3, "time": "2026-')  # a power cut mid-write
    log.append({"command": "show", "hits": 1})
    assert json.loads(lines(tmp_path)[-1])["seq"] == 3
    check = log.verify()
    assert not check.ok and check.bad_line == 3 and "not a JSON entry" in check.reason


def _append_many(root: str, worker: int, n: int) -> None:
    log = AuditLog(Path(root))
    for k in range(n):
        log.append({"command": "search", "query": {"text": f"worker {worker} #{k}"}, "hits": k})


def test_concurrent_appends_keep_one_chain(tmp_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), w, 25)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    check = AuditLog(tmp_path).verify()
    assert check.ok and check.entries == 100
    assert sorted(e["query"]["text"] for e in AuditLog(tmp_path).entries()) == sorted(f"worker {w} #{k}" for w in range(4) for k in range(25))


# --- the command line ----------------------------------------------------------------------------
def test_cli_audit_verify_and_listing(tmp_path):
    filled(tmp_path, 3)
    ok = cli("--index", str(tmp_path), "audit", "--verify")
    assert ok.exit_code == 0 and ok.stdout.startswith("audit log ok: 3 entries, head ")
    listing = cli("--index", str(tmp_path), "audit")
    assert listing.exit_code == 0 and '#2 ' in listing.stdout and '"red motorbike 1" --limit 5 -> 1 hits' in listing.stdout
    assert [json.loads(x)["seq"] for x in cli("--index", str(tmp_path), "audit", "--json", "--tail", "2").stdout.splitlines()] == [2, 3]
    text = lines(tmp_path)
    text[1] = text[1].replace("red motorbike 1", "blue car 1")
    rewrite(tmp_path, text)
    bad = cli("--index", str(tmp_path), "audit", "--verify")
    assert bad.exit_code == 1 and bad.stdout.startswith("audit log BROKEN: line 2 (seq 2) was changed")


def test_every_search_is_logged_before_its_hits_are_shown(stub_evidence_index):
    evidence_index = stub_evidence_index  # the synthetic index of the stub detector: a green motorbike on cam2
    before = len(list(AuditLog(evidence_index).entries()))
    result = cli("--index", str(evidence_index), "search", "xe máy màu xanh lá", "--limit", "4", "--camera", "cam2", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits and hits[0]["class"] == "motorcycle"
    entries = list(AuditLog(evidence_index).entries())
    assert len(entries) == before + 1
    e = entries[-1]
    assert e["command"] == "search" and e["query"]["text"] == "xe máy màu xanh lá" and e["query"]["understood"]["class"] == ["motorcycle"]
    assert e["filters"] == {"camera": ["cam2"], "limit": 4} and e["hits"] == len(hits) and e["hit_ids"] == [h["id"] for h in hits]
    assert AuditLog(evidence_index).verify().ok


def test_a_search_that_cannot_be_logged_is_not_shown(stub_evidence_index, tmp_path):
    """Accountability first: an unwritable audit log is one clear error, and no hits are printed."""
    evidence_index = stub_evidence_index
    log = evidence_index / LOG_NAME
    saved = log.read_bytes() if log.exists() else b""
    log.unlink(missing_ok=True)
    log.mkdir()  # not a file: appending fails whoever runs the test (root ignores permissions)
    try:
        result = cli("--index", str(evidence_index), "search", "white car", "--json")
        report = cli("--index", str(evidence_index), "search", "white car", "--html", str(tmp_path / "report.html"))
    finally:
        log.rmdir()
        log.write_bytes(saved)
        log.chmod(0o600)
    assert result.exit_code == 4 and result.stdout == "" and "cannot write the audit log" in result.stderr
    assert report.exit_code == 4 and "nothing handed out" in report.stderr and not (tmp_path / "report.html").exists()  # written, removed


# --- the index database keeps the chain's length (issue 11: a log cut short with its head rewritten, or
# deleted with it, verified "ok") ----------------------------------------------------------------------
def indexed_log(root: Path, n: int = 4) -> AuditLog:
    from forensic.index.store import IndexStore

    with IndexStore(root, writer=True):
        pass
    return filled(root, n)


def test_a_log_cut_short_with_its_head_rewritten_is_found(tmp_path):
    log = indexed_log(tmp_path)
    text = lines(tmp_path)
    rewrite(tmp_path, text[:2])
    last = json.loads(text[1])
    (tmp_path / HEAD_NAME).write_text(json.dumps({"seq": last["seq"], "hash": last["hash"]}))
    assert log.verify(recorded=None).ok  # what the log and its head alone say
    check = log.verify()
    assert not check.ok and "the index database recorded 4 entries" in check.reason and "last 2 were removed" in check.reason
    result = cli("--index", str(tmp_path), "audit", "--verify")
    assert result.exit_code == 1 and "BROKEN" in result.stdout
    whole = cli("--index", str(tmp_path), "verify")
    assert whole.exit_code == 1 and "problem: audit log: the log ends at seq 2" in whole.stdout


def test_a_deleted_log_and_head_are_found(tmp_path):
    log = indexed_log(tmp_path)
    (tmp_path / LOG_NAME).unlink()
    (tmp_path / HEAD_NAME).unlink()
    check = log.verify()
    assert not check.ok and "missing but the index database recorded 4 entries" in check.reason
    result = cli("--index", str(tmp_path), "audit", "--verify")
    assert result.exit_code == 1 and "ok: 0 entries" not in result.stdout
    log.append({"command": "search", "query": {"text": "x"}, "hits": 0, "hit_ids": [], "exported": []})  # a new log starts again
    assert not log.verify().ok  # ... and stays visibly not the one the index recorded


def test_a_rewritten_log_of_the_same_length_is_found(tmp_path):
    log = indexed_log(tmp_path, 3)
    (tmp_path / LOG_NAME).unlink()
    (tmp_path / HEAD_NAME).unlink()
    filled_again = AuditLog(tmp_path)
    for k in range(3):
        filled_again.append({"command": "search", "query": {"text": f"other {k}"}, "hits": 0, "hit_ids": [], "exported": []})
    check = log.verify()
    assert not check.ok and "not the one the index database recorded" in check.reason
