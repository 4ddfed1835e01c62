"""The HTML report: self-contained (no network, images embedded), every text escaped, and in a real
headless Chromium at phone and desktop widths every picture loads, nothing overflows sideways and
sorting by time works. Screenshots go to test-output/evidence/ for a person to look at."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from browser import CHROMIUM, Browser
from evidencedata import CAMERAS, SHOTS, cli
from forensic.evidence.frames import Place
from forensic.evidence.report import Card, ReportInfo, prepare, render
from forensic.search.hits import Hit
from realdata import tiny_jpeg

EVIL = '<script>alert("x")</script>'


def fake_hit(n: int, score: float, time: str | None, camera: str = "cam") -> Hit:
    return Hit(id=n, video=f"/rec/{EVIL}/{n}.mp4", camera=camera, t=1.5 * n, time=time, bbox=[10, 20, 110, 220], cls="motorcycle",
               score=score, colors=["red", "black"], thumb=None, confidence=0.8, frame=n * 10,
               track={"id": n, "first_seen": 1.0, "last_seen": 4.0, "detections": 9, "thumb": None})


def page_of(hits: list[Hit], title: str = "red motorbike") -> str:
    cards = [Card(h, Place(h.camera, f"Ngã tư {EVIL}", "Trực Cát"), rank, tiny_jpeg(rank), tiny_jpeg(rank + 50))
             for rank, h in enumerate(sorted(hits, key=lambda h: -h.score), 1)]
    info = ReportInfo(title=title, command="search", understood={"class": ["motorcycle"], "ignored": [EVIL]}, filters={"camera": [EVIL]},
                      index="/idx", generated_at="2026-11-21 20:00", generated_by="an@host", version="0.1.0")
    return render(cards, info)


def test_every_text_is_escaped_and_nothing_is_loaded_from_elsewhere():
    html = page_of([fake_hit(1, 0.9, "2026-11-21T20:31:05.400+07:00"), fake_hit(2, 0.7, None)], title=EVIL)
    assert EVIL not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # the sorting script, nothing else
    assert "Content-Security-Policy" in html and "default-src 'none'; img-src data:" in html
    assert all(src.startswith("data:image/jpeg;base64,") for src in re.findall(r'src="([^"]*)"', html))
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', html))
    assert not re.search(r"https?://|url\(|@import", html)


def test_cards_carry_rank_by_score_and_wall_clock_time():
    html = page_of([fake_hit(1, 0.5, "2026-11-21T20:00:00+07:00"), fake_hit(2, 0.9, "2026-11-21T19:00:00+07:00")])
    cards = re.findall(r'<article class="card" id="hit-(\d+)" data-rank="(\d+)" data-time="([\d.]*)"', html)
    assert [(c[0], c[1]) for c in cards] == [("2", "1"), ("1", "2")]
    assert float(cards[1][2]) - float(cards[0][2]) == 3600
    assert "2026-11-21 19:00:00" in html and "UTC+07:00" in html and "2026-11-21 19:00:00 – 20:00:00" in html


def test_a_time_from_the_on_screen_clock_says_so():
    clocked, filed = fake_hit(1, 0.9, "2021-08-06T13:52:30+07:00"), fake_hit(2, 0.5, "2026-11-21T19:00:00+07:00")
    clocked.time_source, filed.time_source = "osd", "container"
    html = page_of([clocked, filed])
    assert html.count("on-screen clock") == 1 and "2021-08-06 13:52:30" in html


def test_a_missing_recording_leaves_the_thumbnail_and_says_why(tmp_path):
    hit = fake_hit(1, 0.9, None)
    hit.video = str(tmp_path / "gone.mp4")
    (card,) = prepare([hit])
    assert card.picture is None and "not there any more" in card.problem
    html = render([card], ReportInfo(title="x", command="search", understood={}))
    assert "not there any more" in html


# --- a real search over the dev footage, looked at by a real browser -----------------------------
@pytest.fixture(scope="module")
def real_report(evidence_index, tmp_path_factory):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (CI installs it)")
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = cli("--index", str(evidence_index), "--cameras", str(CAMERAS), "search", "xe máy màu đỏ", "--limit", "10",
                 "--json", "--html", str(out))
    assert result.exit_code == 0, result.output
    assert f"report: {out}" in result.stderr
    return out, json.loads(result.stdout)


@pytest.mark.slow
def test_the_report_holds_every_hit_with_its_pictures(real_report):
    out, hits = real_report
    html = out.read_text(encoding="utf-8")
    ids = re.findall(r'<article class="card" id="hit-(\d+)"', html)
    n = len(hits)
    assert [int(i) for i in ids] == [h["id"] for h in hits] and 5 <= n <= 10
    assert len(re.findall(r'<img class="shot"', html)) == n and len(re.findall(r'<img class="thumb"', html)) == n
    assert html.count('class="tile"') == n and html.count('class="sheet"') == len({h["camera"] for h in hits}) == 2
    assert "xe máy màu đỏ" in html and "Ngã tư Trực Cát" in html  # the query and the camera names from the cameras file
    assert out.stat().st_size < 2_000_000


def page_checks(browser: Browser) -> dict:
    return browser.evaluate("""(() => {
      const imgs = [...document.images];
      const boxes = [...document.querySelectorAll('.card, .sheet, header, nav, footer, main, .what, .colours, .when, .where, .facts dd')];
      return {
        images: imgs.length,
        broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
        outside: imgs.filter(i => i.getBoundingClientRect().right > innerWidth + 0.5).length,
        innerWidth: innerWidth, scrollWidth: document.documentElement.scrollWidth,
        overflowing: boxes.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.id || e.className || e.tagName),
        columns: getComputedStyle(document.querySelector('.grid')).gridTemplateColumns.split(' ').length,
        cards: document.querySelectorAll('.grid .card').length,
      };
    })()""")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (.ci/run installs it)")
@pytest.mark.parametrize("name, width, height, mobile, columns", [("phone", 390, 844, True, (1, 1)), ("desktop", 1366, 900, False, (3, 5))])
def test_in_chromium_every_image_loads_and_nothing_overflows(real_report, name, width, height, mobile, columns):
    out, hits = real_report
    with Browser() as browser:
        browser.open(out.as_uri(), width, height, mobile)
        checks = page_checks(browser)
        shot = browser.screenshot(SHOTS / f"report-{name}.png")
        print(f"\nscreenshot ({name}, {width}x{height}): {shot}")
        assert checks["innerWidth"] == width
        plates = sum(1 for h in hits if (h.get("plate") or {}).get("crop"))  # a read plate's crop beside the thumbnail
        assert checks["images"] == 3 * len(hits) + plates and checks["broken"] == [] and checks["outside"] == 0
        assert checks["scrollWidth"] <= checks["innerWidth"] and checks["overflowing"] == []
        assert columns[0] <= checks["columns"] <= columns[1] and checks["cards"] == len(hits)
        by_time = browser.evaluate("document.querySelector('button[data-sort=time]').click();"
                                   "[...document.querySelectorAll('.grid .card')].map(c => parseFloat(c.dataset.time))")
        assert by_time == sorted(by_time) and len(by_time) == len(hits)
        by_score = browser.evaluate("document.querySelector('button[data-sort=score]').click();"
                                    "[...document.querySelectorAll('.grid .card')].map(c => parseInt(c.id.slice(4)))")
        assert by_score == [h["id"] for h in hits]
        assert browser.console_errors() == []
    assert shot.stat().st_size > 50_000


def test_similar_writes_a_report_too(stub_evidence_index, car_hit, tmp_path):
    """On the synthetic index of the stub detector: the red car, found again in its own video."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (CI installs it)")
    out = tmp_path / "similar.html"
    result = cli("--index", str(stub_evidence_index), "similar", str(car_hit), "--limit", "3", "--json", "--html", str(out))
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    html = out.read_text(encoding="utf-8")
    assert hits and {(h["camera"], h["class"]) for h in hits} >= {("cam1", "car")}
    assert f"similar to hit {car_hit}" in html and len(re.findall(r'<img class="shot"', html)) == len(hits)
