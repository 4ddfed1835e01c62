"""Frames of a hit, read back from the source recording, with its box and a caption drawn.

A hit stores the frame number the indexer counted; that exact frame is decoded again (ffmpeg
seeking by the container's frame times, or OpenCV from the start of the file when ffmpeg is not
installed), so the box is drawn on the picture it was found in. Used by `show`, the HTML report
and the export.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np

from forensic.errors import ForensicError
from forensic.evidence.media import MediaTimes, file_url, have_tools, probe_times, run_tool
from forensic.index.attributes import thumbnail
from forensic.query import fold
from forensic.search.hits import Hit
from forensic.video import probe, read_frames

log = logging.getLogger(__name__)

BOX = (0, 200, 255)  # BGR amber: visible on asphalt, foliage and sky
TRACK_BOX = (255, 190, 60)  # BGR light blue: the same object in the frames around the hit
INK = (245, 245, 245)
BAR = (32, 28, 24)
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf",
              "/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
              "/System/Library/Fonts/Supplemental/Arial Unicode.ttf", "C:/Windows/Fonts/arial.ttf")
_warned_no_ffmpeg = False


class FrameSource:
    """Exact frames of one video by frame number, as the indexer counted them."""

    def __init__(self, video: Path | str):
        self.video = Path(video)
        if not self.video.is_file():
            raise ForensicError(f"source video {self.video} is not there any more (moved or deleted?)")
        self.times: MediaTimes | None = probe_times(self.video) if have_tools() else None
        if self.times is None:
            _warn_slow(self.video)
        self._fps: float | None = None

    @property
    def fps(self) -> float:
        if self._fps is None:
            self._fps = probe(self.video).fps
        return self._fps

    def time_of(self, index: int) -> float:
        """Seconds from the start of the file at which frame `index` is shown."""
        return self.times.time_of(index) if self.times else index / self.fps

    def index_at(self, t: float) -> int:
        if self.times:
            return self.times.index_at(t)
        return max(0, int(round(t * self.fps)))

    @property
    def duration(self) -> float:
        if self.times:
            return self.times.duration
        return probe(self.video).duration

    def read(self, indices: list[int]) -> list[np.ndarray]:
        """The frames (BGR, source resolution) in the order asked."""
        if self.times is None:
            return read_frames(self.video, indices)  # decoded from the start, counted as the indexer counts
        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1, len(indices)))) as pool:
            return list(pool.map(self._read_one, indices))

    def _read_one(self, index: int) -> np.ndarray:
        import cv2

        ss, skip = self.times.seek_point(index)
        pick = ["-vf", f"select=gte(n\\,{skip})"] if skip else []
        out = run_tool("ffmpeg", ["-nostdin", "-hide_banner", "-v", "error", "-protocol_whitelist", "file", "-ss", f"{ss:.6f}",
                                  "-i", file_url(self.video), "-map", "0:v:0", *pick, "-frames:v", "1", "-f", "image2pipe", "-c:v", "bmp",
                                  "-pix_fmt", "bgr24", "pipe:1"], f"{self.video} (frame {index})", timeout=120).stdout
        image = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR) if out else None
        if image is None:
            raise ForensicError(f"{self.video}: frame {index} could not be decoded")
        return image


def _warn_slow(video: Path) -> None:
    global _warned_no_ffmpeg
    if not _warned_no_ffmpeg:
        _warned_no_ffmpeg = True
        log.warning("ffmpeg/ffprobe not found or no frame times in %s: decoding from the start of each video "
                    "(slow for long recordings; install the 'ffmpeg' package)", video.name)


# -- is it the frame the indexer saw? ------------------------------------------------------------
THUMB_MATCH = 2.0  # mean absolute difference (0-255) of the re-made thumbnail under which the frame is the indexed one


def thumb_difference(image: np.ndarray, box, thumb: bytes) -> float | None:
    """Re-make the index thumbnail from `image` and compare it with the stored one (None: unreadable)."""
    import cv2

    stored = cv2.imdecode(np.frombuffer(thumb, np.uint8), cv2.IMREAD_COLOR)
    mine = cv2.imdecode(np.frombuffer(thumbnail(image, box), np.uint8), cv2.IMREAD_COLOR)
    if stored is None or mine is None:
        return None
    if stored.shape != mine.shape:
        mine = cv2.resize(mine, (stored.shape[1], stored.shape[0]), interpolation=cv2.INTER_AREA)
    return float(np.abs(stored.astype(np.int16) - mine.astype(np.int16)).mean())


def check_frame(source: FrameSource, hit, image: np.ndarray, thumb: bytes | None) -> tuple[int, np.ndarray, float | None]:
    """(frame number, image, thumbnail difference) of the hit: its own frame when it matches the index
    thumbnail, else the best of the frames at the hit's time (readers that number frames by time)."""
    if not thumb:
        return hit.frame, image, None
    diff = thumb_difference(image, hit.bbox, thumb)
    if diff is None or diff <= THUMB_MATCH:
        return hit.frame, image, diff
    centre = source.index_at(hit.t)
    candidates = sorted({max(0, centre + k) for k in (-1, 0, 1)} - {hit.frame})
    best = (diff, hit.frame, image)
    for index, other in zip(candidates, source.read(candidates)):
        d = thumb_difference(other, hit.bbox, thumb)
        if d is not None and d < best[0]:
            best = (d, index, other)
    if best[1] != hit.frame:
        log.info("hit %s: frame %d matches the index thumbnail better than frame %d", hit.id, best[1], hit.frame)
    if best[0] > THUMB_MATCH:
        log.warning("hit %s: the decoded frame does not match the index thumbnail (difference %.1f): "
                    "the recording may have changed since it was indexed", hit.id, best[0])
    return best[1], best[2], best[0]


def locate(source: FrameSource, hit, thumb: bytes | None) -> tuple[int, np.ndarray, float | None]:
    return check_frame(source, hit, source.read([hit.frame])[0], thumb)


# -- what to draw -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """How a camera is shown to a person: its name and the place it watches."""

    id: str
    name: str
    place: str

    @property
    def label(self) -> str:
        return self.name if self.name == self.id else f"{self.name} ({self.id})"


def place_of(cameras, camera_id: str, video: str) -> Place:
    """The cameras file's entry by id, else the one whose patterns own the file, else the bare id."""
    cams = getattr(cameras, "cameras", []) if cameras is not None else []
    cam = next((c for c in cams if c.id == camera_id), None) or next((c for c in cams if c.owns(video)), None)
    if cam is None:
        return Place(camera_id, camera_id, "")
    return Place(camera_id, cam.name, cam.places[0] if cam.places else "")


def load_hit(store, hit_id: int, cameras=None):
    """The search Hit of a detection id (score 0: no query scored it); its times from `cameras` (the
    cameras file now) as a search gives them."""
    rows = store.rows([hit_id])
    if hit_id not in rows:
        raise ForensicError(f"no hit with id {hit_id} in {store.root} (ids are the 'id' of search results)")
    return Hit.from_row(rows[hit_id], 0.0, store.root, cameras)


def track_boxes(store, hit) -> dict[int, list[float]]:
    """Frame number -> box of the hit's object in every sampled frame of its track."""
    if not hit.track:
        return {hit.frame: list(hit.bbox)}
    return {frame: list(box) for frame, box in store.track_boxes(hit.track["id"]).items()}


def wall_time(hit, offset: float = 0.0) -> str | None:
    """The hit's wall-clock time moved by `offset` seconds (real seconds, across a DST change), to the millisecond."""
    if not hit.time:
        return None
    wall = getattr(hit, "wall", None)
    if wall is not None:
        return wall.at(hit.t + offset).isoformat(timespec="milliseconds")
    when = datetime.fromisoformat(hit.time)
    return (when.astimezone(timezone.utc) + timedelta(seconds=offset)).astimezone(when.tzinfo).isoformat(timespec="milliseconds")


def fmt_time(iso: str | None, with_zone: bool = True) -> str:
    if not iso:
        return "wall-clock time unknown"
    dt = datetime.fromisoformat(iso)
    text = dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d}"
    return text + (dt.strftime(" %z") if with_zone and dt.tzinfo else "")


def mmss(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:06.3f}"


def colour_text(hit) -> str:
    if hit.clothing:
        return f"top {', '.join(hit.clothing['upper']) or '?'}, bottom {', '.join(hit.clothing['lower']) or '?'}"
    return ", ".join(hit.colors) or "colour unknown"


SOURCE_WORDS = {"pattern": "the camera's file-name pattern", "filename": "the file name", "container": "the container's creation time",
                "mtime": "the file's modification time", "osd": "the recorder's on-screen clock"}


def clock_text(hit) -> str:
    """Where the hit's wall-clock time came from, in one line: source, timezone, clock offset, and whether
    it was recomputed from the cameras file now or falls in a daylight-saving change."""
    clock = getattr(hit, "clock", None) or {}
    if not hit.time:
        return "wall-clock time unknown (no start time for this recording)"
    parts = [f"time from {SOURCE_WORDS.get(clock.get('source'), clock.get('source') or 'an unknown source')}"]
    if clock.get("timezone"):
        parts.append(clock["timezone"])
    if clock.get("clock_offset") is not None:
        parts.append(f"clock offset {clock['clock_offset']:+g} s")
    if clock.get("recomputed"):
        was = clock.get("indexed_with") or {}
        parts.append(f"recomputed from the cameras file now (indexed with {was.get('timezone')}, {was.get('clock_offset', 0):+g} s)")
    elif clock.get("as_indexed"):
        parts.append("as stored when indexed")
    if clock.get("stale"):
        parts.append("STALE: the cameras file now says otherwise; re-index")
    if clock.get("dst"):
        parts.append(f"DST {clock['dst']}: {clock.get('dst_note')}")
    return "; ".join(parts)


def caption_lines(hit, place: Place) -> list[str]:
    where = place.label + (f" - {place.place}" if place.place else "")
    clock = " (on-screen clock)" if hit.time and getattr(hit, "time_source", None) == "osd" else ""
    return [f"{where}   {fmt_time(hit.time)}{clock}",
            f"{hit.cls}: {colour_text(hit)}{'   plate ' + hit.plate['text'] if getattr(hit, 'plate', None) else ''}   hit {hit.id}",
            f"{Path(hit.video).name} at {mmss(hit.t)} (frame {hit.frame})",
            clock_text(hit)]


# -- drawing ------------------------------------------------------------------------------------
def draw_box(image: np.ndarray, box, color=BOX, thickness: int | None = None) -> np.ndarray:
    """Draw (in place) a box with a dark outline so it shows on any background."""
    import cv2

    h, w = image.shape[:2]
    t = thickness or max(2, round(max(h, w) / 500))
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    cv2.rectangle(image, (x1, y1), (x2, y2), (0, 0, 0), t + 2, cv2.LINE_AA)
    cv2.rectangle(image, (x1, y1), (x2, y2), color, t, cv2.LINE_AA)
    return image


@lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    for path in FONT_PATHS:
        if os.path.isfile(path):
            return ImageFont.truetype(path, size), True
    try:
        return ImageFont.load_default(size=size), False
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default(), False


def caption(image: np.ndarray, lines: list[str], scale: float = 1.0) -> np.ndarray:
    """The image with a dark bar of text lines under it (the picture itself is not covered)."""
    from PIL import Image, ImageDraw

    h, w = image.shape[:2]
    size = int(np.clip(w / 58 * scale, 13, 30))
    font, unicode_ok = _font(size)
    if not unicode_ok:  # a font without Vietnamese letters: write them without diacritics
        lines = [fold(line) if not line.isascii() else line for line in lines]
    pad, gap = size // 2, size // 3
    bar_h = pad * 2 + len(lines) * size + (len(lines) - 1) * gap
    bar = Image.new("RGB", (w, bar_h), BAR[::-1])
    draw = ImageDraw.Draw(bar)
    y = pad
    for n, line in enumerate(lines):
        draw.text((pad, y), _fit(draw, line, font, w - 2 * pad), font=font, fill=INK if n == 0 else (200, 200, 200))
        y += size + gap
    return np.vstack([image, np.asarray(bar)[:, :, ::-1]])


def _fit(draw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def annotated_frame(image: np.ndarray, hit, place: Place) -> np.ndarray:
    """The full frame with the hit's box, and a caption: camera, time, class, colours."""
    return caption(draw_box(image.copy(), hit.bbox), caption_lines(hit, place))


def excerpt(image: np.ndarray, box, size: tuple[int, int] = (480, 360), context: float = 2.6) -> np.ndarray:
    """A 4:3 piece of the frame around the box (more surroundings than the thumbnail), box drawn."""
    import cv2

    H, W = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    aspect = size[0] / size[1]
    cw = min(float(W), max(context * (x2 - x1), context * (y2 - y1) * aspect, 200.0))
    ch = cw / aspect
    if ch > H:
        ch, cw = float(H), min(float(W), H * aspect)
    cx = np.clip((x1 + x2) / 2 - cw / 2, 0, W - cw)
    cy = np.clip((y1 + y2) / 2 - ch / 2, 0, H - ch)
    piece = image[int(cy):int(cy + ch), int(cx):int(cx + cw)].copy()
    k = size[0] / piece.shape[1]
    piece = cv2.resize(piece, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
    return draw_box(piece, [(x1 - cx) * k, (y1 - cy) * k, (x2 - cx) * k, (y2 - cy) * k], thickness=3)


@dataclass
class StripFrame:
    index: int  # frame number in the source
    offset: float  # seconds from the hit
    box: list[float] | None  # the object's box in this frame, when the indexer sampled it
    image: np.ndarray | None = None


def strip_frames(source: FrameSource, hit, boxes: dict[int, list[float]], context: float, step: float) -> list[StripFrame]:
    """Frames every `step` seconds from `context` before the hit to `context` after (within the file)."""
    if context < 0 or step <= 0:
        raise ForensicError("--context must be 0 or more and --step more than 0")
    centre = source.time_of(hit.frame)
    n = int(np.floor(context / step + 1e-9))
    out, seen = [], set()
    for k in range(-n, n + 1):
        t = centre + k * step
        if t < -1e-6 or t > source.duration:
            continue
        index = hit.frame if k == 0 else source.index_at(t)
        if index in seen:
            continue
        seen.add(index)
        near = [f for f in (index, index - 1, index + 1) if f in boxes]
        out.append(StripFrame(index, source.time_of(index) - centre, boxes[near[0]] if near else None))
    for frame, image in zip(out, source.read([f.index for f in out])):
        frame.image = image
    return out


def strip_image(frames: list[StripFrame], hit, place: Place, step: float, tile_width: int = 640, columns: int = 4) -> np.ndarray:
    """A grid of the strip's frames (the hit's own frame framed in amber) with a caption."""
    import cv2

    tiles = []
    for f in frames:
        k = tile_width / f.image.shape[1]
        tile = cv2.resize(f.image, (tile_width, int(round(f.image.shape[0] * k))), interpolation=cv2.INTER_AREA)
        if f.box is not None:
            draw_box(tile, [v * k for v in f.box], BOX if f.offset == 0 else TRACK_BOX, 3 if f.offset == 0 else 2)
        label = f"{f.offset:+.1f} s" + (f"   {fmt_time(wall_time(hit, f.offset), with_zone=False)[11:]}" if hit.time else "")
        tile = caption(tile, [label + ("   (the hit)" if abs(f.offset) < 1e-9 else "")], scale=1.6)
        border = BOX if abs(f.offset) < 1e-9 else BAR
        tiles.append(cv2.copyMakeBorder(tile, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=border))
    columns = max(1, min(columns, len(tiles)))
    th, tw = max(t.shape[0] for t in tiles), tiles[0].shape[1]
    rows = []
    for r in range(0, len(tiles), columns):
        row = [np.pad(t, ((0, th - t.shape[0]), (0, 0), (0, 0))) for t in tiles[r:r + columns]]
        row += [np.full((th, tw, 3), BAR, np.uint8)] * (columns - len(row))
        rows.append(np.hstack(row))
    return caption(np.vstack(rows), caption_lines(hit, place) + [f"frames every {step:g} s from "
                                                                   f"{frames[0].offset:+.1f} s to {frames[-1].offset:+.1f} s; "
                                                                   "amber: the hit, blue: the same object where the indexer saw it"])


def encode_jpeg(image: np.ndarray, quality: int = 88) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ForensicError("could not encode the image as JPEG")
    return buf.tobytes()


def encode_image(image: np.ndarray, suffix: str) -> bytes:
    """JPEG, PNG or WebP by file suffix (what `show --out` writes)."""
    import cv2

    suffix = suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        return encode_jpeg(image, 92)
    if suffix not in (".png", ".webp", ".bmp", ".tif", ".tiff"):
        raise ForensicError(f"cannot write a {suffix or 'suffix-less'} image: use .jpg, .png or .webp")
    ok, buf = cv2.imencode(suffix, image)
    if not ok:
        raise ForensicError(f"could not encode the image as {suffix}")
    return buf.tobytes()
