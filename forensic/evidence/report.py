"""A search as one self-contained HTML page: what was understood, the filters, and the hits as
pictures (a piece of the frame around the object with its box, and the index thumbnail), with
class, colours, camera, place, wall-clock time and score; sortable by score or time, with a
contact sheet per camera. Images are embedded (data: URIs) and a Content-Security-Policy forbids
every network load, so the file can be mailed, archived or opened offline as it is.
"""

from __future__ import annotations

import base64
import html
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from forensic import __version__
from forensic.cameras import load_cameras
from forensic.errors import ForensicError
from forensic.evidence.audit import whoami
from forensic.evidence.frames import (FrameSource, Place, check_frame, clock_text, colour_text, draw_box, encode_jpeg, excerpt, mmss,
                                      place_of)
from forensic.files import check_output, write_new
from forensic.images import shrink

log = logging.getLogger(__name__)

SWATCH = {"black": "#1b1b1b", "white": "#fafafa", "grey": "#9aa0a6", "red": "#d93025", "orange": "#f28b00",
          "yellow": "#f9c80e", "green": "#2e9d4f", "blue": "#1a73e8", "purple": "#8e44ad", "brown": "#8d5b3a"}


@dataclass
class Card:
    hit: object  # forensic.search.hits.Hit
    place: Place
    rank: int  # 1 = best score
    picture: bytes | None = None  # JPEG: the frame excerpt with the box
    thumb: bytes | None = None  # JPEG: the index thumbnail
    plate: bytes | None = None  # JPEG: the licence plate crop, when one was read
    problem: str | None = None  # why there is no frame excerpt


@dataclass
class ReportInfo:
    title: str  # the query as typed, or what stood for it ("photo suspect.jpg")
    command: str  # search | similar
    understood: dict
    filters: dict = field(default_factory=dict)
    sort: str = "relevance"
    index: str = ""
    generated_at: str = ""
    generated_by: str = ""
    version: str = ""
    query_picture: bytes | None = None  # JPEG of the query photo with its subject boxed


def prepare(hits: list, cameras=None) -> list[Card]:
    """Decode each hit's frame from its recording (one pass per video) and cut its excerpt."""
    ranks = {id(h): n for n, h in enumerate(sorted(hits, key=lambda h: -h.score), 1)}
    cards = [Card(h, place_of(cameras, h.camera, h.video), ranks[id(h)]) for h in hits]
    for card in cards:
        if card.hit.thumb and Path(card.hit.thumb).is_file():
            card.thumb = Path(card.hit.thumb).read_bytes()
        crop = (getattr(card.hit, "plate", None) or {}).get("crop")
        if crop and Path(crop).is_file():
            card.plate = Path(crop).read_bytes()
    by_video: dict[str, list[Card]] = {}
    for card in cards:
        by_video.setdefault(card.hit.video, []).append(card)
    for video, group in by_video.items():
        try:
            source = FrameSource(video)
            images = source.read([c.hit.frame for c in group])
        except ForensicError as e:
            log.warning("report: %s", e)
            for c in group:
                c.problem = str(e)
            continue
        for c, image in zip(group, images):
            _, image, _ = check_frame(source, c.hit, image, c.thumb)  # the frame the indexer saw, by its thumbnail
            c.picture = encode_jpeg(excerpt(image, c.hit.bbox), 82)
    return cards


def write_report(path: Path, page: str, *, force: bool = False, index_root: Path | None = None) -> None:
    """Write the report to a new file: an existing file is replaced only with `force`, and never one inside
    the index folder `index_root` (ForensicError)."""
    path = Path(path)
    if path.is_dir():
        raise ForensicError(f"--html {path} is a folder: give a file name such as report.html")
    if not path.parent.is_dir():
        raise ForensicError(f"--html {path}: folder {path.parent} does not exist")
    check_output(path, index_root, force=force, option="--html")
    write_new(path, page.encode("utf-8"), force=force)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _img(data: bytes, alt: str, cls: str, size: tuple[int, int] | None = None) -> str:
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    return f'<img class="{cls}" src="data:image/jpeg;base64,{base64.b64encode(data).decode()}"{dims} alt="{_e(alt)}" decoding="async">'


def _epoch(iso: str | None) -> str:
    return f"{datetime.fromisoformat(iso).timestamp():.3f}" if iso else ""


def _when(iso: str | None) -> tuple[str, str]:
    """('2026-11-21 20:31:05', '+07:00') for display."""
    if not iso:
        return "time unknown", ""
    dt = datetime.fromisoformat(iso)
    zone = dt.strftime("%z")
    return dt.strftime("%Y-%m-%d %H:%M:%S"), (f"UTC{zone[:3]}:{zone[3:]}" if zone else "")


def _span(first: str, last: str) -> str:
    """'2026-11-21 20:31:05 – 20:45:10' (the date once when both are on the same day)."""
    a, b = _when(first)[0], _when(last)[0]
    return a if a == b else f"{a} – {b[11:]}" if a[:10] == b[:10] else f"{a} – {b}"


def _swatches(names: list[str]) -> str:
    return "".join(f'<span class="sw" title="{_e(n)}" style="background:{SWATCH.get(n, "#777")}"></span>' for n in names)


def _colours(hit) -> str:
    if hit.clothing:
        up, low = hit.clothing.get("upper", []), hit.clothing.get("lower", [])
        return (f'<span class="part">top {_swatches(up)} {_e(", ".join(up) or "?")}</span>'
                f'<span class="part">bottom {_swatches(low)} {_e(", ".join(low) or "?")}</span>')
    return f'<span class="part">{_swatches(hit.colors)} {_e(", ".join(hit.colors) or "colour unknown")}</span>'


def _value(v) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return str(v)


def _card(c: Card) -> str:
    h = c.hit
    day, zone = _when(h.time)
    alt = f"{h.cls}, {colour_text(h)}, {c.place.label}, {day}"
    picture = (_img(c.picture, "frame excerpt: " + alt, "shot", (480, 360)) if c.picture else
               f'<div class="shot missing">{_e(c.problem or "no frame")}</div>')
    thumb = _img(c.thumb, "index thumbnail: " + alt, "thumb") if c.thumb else ""
    plate = getattr(h, "plate", None)
    if c.plate:  # the plate crop beside the thumbnail
        thumb += _img(c.plate, f"licence plate {plate['text'] if plate else ''}", "plate")
    plate_text = (f'<p class="plate" title="read with confidence {plate["confidence"]:.2f}">Plate <b>{_e(plate["text"])}</b> '
                  f'<small>{plate["confidence"]:.2f}</small></p>' if plate else "")
    seen = ""
    if h.track and h.track.get("detections", 1) > 1:
        seen = f'<div><dt>Seen</dt><dd>{mmss(h.track["first_seen"])} – {mmss(h.track["last_seen"])} ({h.track["detections"]} sightings)</dd></div>'
    pct = max(0.0, min(1.0, h.score)) * 100
    clock = " · on-screen clock" if h.time and getattr(h, "time_source", None) == "osd" else ""
    return f"""
<article class="card" id="hit-{h.id}" data-rank="{c.rank}" data-time="{_epoch(h.time)}" data-score="{h.score:.4f}">
  <a class="frame" href="#hit-{h.id}">{picture}<span class="rank">#{c.rank}</span></a>
  <div class="body">
    <div class="head">
      {thumb}
      <div class="what"><h3>{_e(h.cls)}</h3><p class="colours">{_colours(h)}</p>{plate_text}</div>
      <div class="score" title="score {h.score:.4f}"><b>{h.score:.2f}</b><span class="bar"><i style="width:{pct:.0f}%"></i></span></div>
    </div>
    <p class="when"><time datetime="{_e(h.time or '')}">{_e(day)}</time> <small>{_e(zone)}{clock}</small></p>
    <p class="clock"><small>{_e(clock_text(h))}</small></p>
    <p class="where">{_e(c.place.name)}{f' <small>· {_e(c.place.place)}</small>' if c.place.place else ''}{f' <small>· {_e(c.place.id)}</small>' if c.place.id != c.place.name else ''}</p>
    <details><summary>Details</summary><dl class="facts">
      <div><dt>Hit id</dt><dd>{h.id}</dd></div>
      <div><dt>Video</dt><dd>{_e(h.video)}</dd></div>
      <div><dt>At</dt><dd>{mmss(h.t)} (frame {h.frame})</dd></div>{seen}
      <div><dt>Box</dt><dd>{_e(", ".join(str(round(v)) for v in h.bbox))}</dd></div>
      <div><dt>Detector</dt><dd>{h.confidence:.2f}</dd></div>
      <div><dt>Keep it</dt><dd><code>forensic export {h.id} --out case-{h.id}</code></dd></div>
    </dl></details>
  </div>
</article>"""


def _sheets(cards: list[Card]) -> str:
    groups: dict[str, list[Card]] = {}
    for c in cards:
        groups.setdefault(c.place.id, []).append(c)
    out = []
    for cam_id, group in sorted(groups.items(), key=lambda kv: kv[1][0].place.name.lower()):
        place = group[0].place
        times = sorted(c.hit.time for c in group if c.hit.time)
        span = _span(times[0], times[-1]) if times else ""
        tiles = "".join(
            f'<a class="tile" href="#hit-{c.hit.id}" data-rank="{c.rank}" data-time="{_epoch(c.hit.time)}" data-score="{c.hit.score:.4f}">'
            + (_img(c.thumb, f"{c.hit.cls} at {_when(c.hit.time)[0]}", "tthumb") if c.thumb else '<span class="tthumb none"></span>')
            + f'<span class="cap"><b>#{c.rank}</b> {_e(c.hit.cls)}<br>{_e(_when(c.hit.time)[0][11:] or mmss(c.hit.t))}</span></a>'
            for c in group)
        out.append(f"""
<section class="sheet" id="camera-{_e(cam_id)}">
  <h3>{_e(place.name)} <small>{_e(place.place) + ' · ' if place.place else ''}{len(group)} hit{'s' if len(group) != 1 else ''}{' · ' + _e(span) if span else ''}</small></h3>
  <div class="tiles" data-sortable>{tiles}</div>
</section>""")
    return "".join(out)


def render(cards: list[Card], info: ReportInfo) -> str:
    """The page; every text from the index, the query or the cameras file is escaped."""
    chips = "".join(f'<span class="chip{" warn" if k == "ignored" else ""}"><b>{_e(k)}</b> {_e(_value(v))}</span>'
                    for k, v in info.understood.items())
    chips += "".join(f'<span class="chip filter"><b>{_e(k)}</b> {_e(_value(v))}</span>' for k, v in info.filters.items())
    cameras = len({c.place.id for c in cards})
    times = sorted(c.hit.time for c in cards if c.hit.time)
    span = _span(times[0], times[-1]) if times else "unknown"
    query_pic = (f'<figure class="query">{_img(info.query_picture, "the query photo", "qpic")}<figcaption>query photo</figcaption></figure>'
                 if info.query_picture else "")
    grid = "".join(_card(c) for c in cards) or '<p class="empty">No matches.</p>'
    initial = "time" if info.sort == "time" else "score"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="generator" content="forensic {_e(info.version)}">
<title>{_e(info.title)} · {len(cards)} hits · forensic</title>
<style>{CSS}</style>
</head>
<body data-sort="{initial}">
<header class="top"><div class="wrap headwrap">
  <div class="headtext">
    <p class="kicker">forensic · {_e(info.command)} report</p>
    <h1>{_e(info.title)}</h1>
    <div class="chips">{chips}</div>
    <dl class="meta">
      <div><dt>Hits</dt><dd>{len(cards)}</dd></div>
      <div><dt>Cameras</dt><dd>{cameras}</dd></div>
      <div><dt>Footage time</dt><dd>{_e(span)}</dd></div>
      <div><dt>Searched</dt><dd>{_e(info.generated_at)} by {_e(info.generated_by)}</dd></div>
    </dl>
  </div>
  {query_pic}
</div></header>
<nav class="bar" aria-label="Report"><div class="wrap barwrap">
  <div class="seg" role="group" aria-label="Sort hits by"><span class="lbl">Sort</span>
    <button type="button" data-sort="score" aria-pressed="{str(initial == 'score').lower()}">Score</button><button type="button" data-sort="time" aria-pressed="{str(initial == 'time').lower()}">Time</button>
  </div>
  <div class="jump"><a href="#hits">Hits</a><a href="#cameras">By camera</a></div>
</div></nav>
<main class="wrap">
<section id="hits"><h2>Hits</h2><div class="grid" data-sortable>{grid}</div></section>
<section id="cameras"><h2>Contact sheet by camera</h2>{_sheets(cards)}</section>
</main>
<footer class="wrap foot">
  <p>Made by forensic {_e(info.version)} from the index {_e(info.index)}. Pictures are decoded from the original recordings; the amber boxes are drawn by forensic. Times are the cameras' wall-clock times. This page loads nothing from the network.</p>
  <p>To keep a hit as evidence: <code>forensic export HIT_ID --out FOLDER</code> (clip, frame and a manifest with SHA-256 hashes).</p>
</footer>
<script>{JS}</script>
</body>
</html>
"""


JS = """
(function () {
  var buttons = Array.prototype.slice.call(document.querySelectorAll('button[data-sort]'));
  function key(el, by) {
    if (by === 'time') { var t = parseFloat(el.getAttribute('data-time')); return isNaN(t) ? Infinity : t; }
    return parseInt(el.getAttribute('data-rank'), 10);
  }
  function sortBy(by) {
    document.querySelectorAll('[data-sortable]').forEach(function (box) {
      var items = Array.prototype.slice.call(box.children);
      items.sort(function (a, b) { return (key(a, by) - key(b, by)) || (key(a, 'score') - key(b, 'score')); });
      items.forEach(function (el) { box.appendChild(el); });
    });
    buttons.forEach(function (b) { b.setAttribute('aria-pressed', String(b.getAttribute('data-sort') === by)); });
    document.body.setAttribute('data-sort', by);
  }
  buttons.forEach(function (b) { b.addEventListener('click', function () { sortBy(b.getAttribute('data-sort')); }); });
  sortBy(document.body.getAttribute('data-sort') || 'score');
})();
"""

CSS = """
:root{--bg:#eef1f5;--card:#fff;--ink:#16202c;--muted:#5b6675;--line:#dde2e8;--accent:#f5a300;--head:#0f1b2b;--headink:#f4f6f9;--chip:#1f2f45;--shadow:0 1px 2px rgba(15,27,43,.08),0 4px 14px rgba(15,27,43,.07)}
@media (prefers-color-scheme:dark){:root{--bg:#0b121c;--card:#141d29;--ink:#e7ecf2;--muted:#9aa6b5;--line:#263244;--head:#050a11;--chip:#1b2a3e;--shadow:0 1px 2px rgba(0,0,0,.4)}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;overflow-wrap:anywhere}
.wrap{max-width:1320px;margin:0 auto;padding:0 16px}
.top{background:var(--head);color:var(--headink);padding:20px 0 18px}
.headwrap{display:flex;gap:20px;align-items:flex-start;justify-content:space-between}
.headtext{min-width:0;flex:1}
.kicker{margin:0 0 4px;font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:var(--accent);font-weight:600}
h1{margin:0 0 12px;font-size:clamp(22px,4vw,34px);line-height:1.15;font-weight:650}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:14px}
.chip{background:var(--chip);border:1px solid #2d4262;border-radius:999px;padding:3px 10px;font-size:13px;color:#dbe4ef;max-width:100%}
.chip b{font-weight:600;color:#8fb3e0;margin-right:4px}
.chip.filter b{color:#9be0b5}
.chip.warn{border-color:#7a5a12}.chip.warn b{color:var(--accent)}
.meta{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:8px 18px;margin:0}
.meta div{min-width:0}.meta dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#8d9bb0}.meta dd{margin:0;font-size:14px}
.query{margin:0;flex:0 0 auto;text-align:center}.qpic{display:block;max-width:180px;max-height:180px;border-radius:8px;border:2px solid var(--accent)}
.query figcaption{font-size:12px;color:#8d9bb0;margin-top:4px}
.bar{position:sticky;top:0;z-index:5;background:color-mix(in srgb,var(--bg) 88%,transparent);backdrop-filter:blur(6px);border-bottom:1px solid var(--line)}
.barwrap{display:flex;align-items:center;justify-content:space-between;gap:12px;padding-top:8px;padding-bottom:8px;flex-wrap:wrap}
.seg{display:flex;align-items:center;gap:6px}.lbl{font-size:13px;color:var(--muted);margin-right:2px}
.seg button{font:inherit;font-size:14px;padding:6px 14px;border-radius:8px;border:1px solid var(--line);background:var(--card);color:var(--ink);cursor:pointer;min-height:36px}
.seg button[aria-pressed=true]{background:var(--head);color:#fff;border-color:var(--head)}
@media (prefers-color-scheme:dark){.seg button[aria-pressed=true]{background:var(--accent);color:#111;border-color:var(--accent)}}
.jump{display:flex;gap:14px}.jump a{color:var(--ink);font-size:14px;text-decoration:none;border-bottom:2px solid var(--accent)}
h2{font-size:19px;margin:22px 0 12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr));gap:16px}
.card{background:var(--card);border-radius:12px;box-shadow:var(--shadow);overflow:hidden;min-width:0;display:flex;flex-direction:column}
.card:target{outline:3px solid var(--accent)}
.frame{position:relative;display:block;background:#000;aspect-ratio:4/3}
.shot{display:block;width:100%;height:100%;object-fit:cover}
.shot.missing{display:flex;align-items:center;justify-content:center;color:#ccc;padding:16px;font-size:13px;text-align:center}
.rank{position:absolute;top:8px;left:8px;background:rgba(10,16,24,.78);color:#fff;font-weight:650;font-size:13px;padding:2px 8px;border-radius:6px}
.body{padding:10px 12px 12px;display:flex;flex-direction:column;gap:4px;min-width:0}
.head{display:flex;gap:10px;align-items:center;min-width:0}
.thumb{width:56px;height:56px;object-fit:contain;background:#0b0f14;border-radius:6px;flex:0 0 auto}
.plate{font-size:13px;margin:2px 0 0}
img.plate{width:72px;height:56px;object-fit:contain;background:#0b0f14;border-radius:6px;flex:0 0 auto;margin:0}
.what{flex:1;min-width:0}.what h3{margin:0;font-size:17px;text-transform:capitalize}
.colours{margin:2px 0 0;font-size:13px;color:var(--muted);display:flex;flex-wrap:wrap;gap:2px 10px}
.part{min-width:0}
.sw{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:2px;vertical-align:-1px;box-shadow:0 0 0 1px rgba(0,0,0,.35)}
.score{flex:0 0 auto;text-align:right;min-width:54px}.score b{font-size:18px;font-variant-numeric:tabular-nums}
.bar i{display:block;height:4px;background:var(--accent);border-radius:2px}.score .bar{display:block;height:4px;background:var(--line);border-radius:2px;margin-top:2px}
.when{margin:4px 0 0;font-size:15px;font-variant-numeric:tabular-nums;font-weight:550}.when small,.where small{color:var(--muted);font-weight:400}
.where{margin:0;font-size:14px}
details{margin-top:4px;font-size:13px;color:var(--muted)}summary{cursor:pointer;padding:4px 0}
.facts{margin:4px 0 0;display:grid;gap:3px}.facts div{display:grid;grid-template-columns:72px 1fr;gap:6px}.facts dt{color:var(--muted)}.facts dd{margin:0;color:var(--ink);min-width:0}
code{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;background:color-mix(in srgb,var(--line) 60%,transparent);padding:1px 5px;border-radius:4px}
.sheet{background:var(--card);border-radius:12px;box-shadow:var(--shadow);padding:12px;margin-bottom:14px}
.sheet h3{margin:0 0 10px;font-size:16px}.sheet h3 small{font-weight:400;color:var(--muted);font-size:13px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(96px,1fr));gap:8px}
.tile{display:flex;flex-direction:column;text-decoration:none;color:var(--ink);min-width:0;border-radius:8px;overflow:hidden;background:var(--bg)}
.tthumb{display:block;width:100%;aspect-ratio:1;object-fit:contain;background:#0b0f14}
.tthumb.none{background:#333}
.cap{font-size:11.5px;line-height:1.3;padding:4px 6px;font-variant-numeric:tabular-nums}
.foot{color:var(--muted);font-size:13px;padding-top:10px;padding-bottom:28px}
.empty{color:var(--muted)}
@media (max-width:560px){.wrap{padding:0 12px}.top{padding:16px 0 14px}.headwrap{flex-direction:column}.qpic{max-width:120px}.grid{gap:12px}.meta{grid-template-columns:1fr 1fr}}
@media print{.bar{display:none}body{background:#fff}.card,.sheet{box-shadow:none;border:1px solid #ccc;break-inside:avoid}.top{background:#fff;color:#000}details{display:none}}
"""


def write_search_report(path: Path, result, filters: dict, settings, *, force: bool = False) -> None:
    """search/similar --html: a SearchResult's hits as a report, with the request, who made it and when."""
    request, understood = result.request, result.understood
    picture = _query_picture(request.image, understood.get("box")) if request.kind == "photo" else None
    who = whoami()
    info = ReportInfo(title=request.title, command=request.command, understood={k: v for k, v in understood.items() if k != "box"},
                      filters={k.replace("_", " "): v for k, v in filters.items()}, sort=request.sort, index=str(settings.index.resolve()),
                      generated_at=datetime.now().astimezone().isoformat(sep=" ", timespec="minutes"), generated_by=f"{who['user']}@{who['host']}",
                      version=__version__, query_picture=picture)
    cards = prepare(result.hits, load_cameras(settings.cameras, settings.index))
    write_report(path, render(cards, info), force=force, index_root=settings.index)


def _query_picture(path: Path, box) -> bytes | None:
    """The query photo, shrunk, with the subject's box."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None
    if box:
        draw_box(image, box)
    return encode_jpeg(shrink(image, 360), 85)
