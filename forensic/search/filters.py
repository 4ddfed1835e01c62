"""Filters (class, colour, camera, time window) applied before ranking, so a filtered query still
returns its top N, and the vector search only ever sees allowed detections. They are explicit (flags,
or the place and time a text names): the classes and colours a text describes only rank
(forensic.search.text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from forensic.errors import ForensicError
from forensic.index.columns import SHARE_SCALE
from forensic.search.hits import video_clock

MIN_SHARE = 0.05  # a colour covering less of an object (after background removal) is not the object's colour


@dataclass
class Filters:
    classes: tuple[str, ...] = ()  # the detection's (first) class is one of these
    cameras: tuple[str, ...] = ()  # camera ids
    since: datetime | None = None
    until: datetime | None = None
    colors: tuple[str, ...] = ()  # palette names: each covers at least MIN_SHARE of the whole object

    @property
    def active(self) -> bool:
        return bool(self.classes or self.cameras or self.since or self.until or self.colors)

    def mask(self, store, camera_config=None) -> np.ndarray | None:
        """Which rows of the search columns pass the filters (boolean), or None when nothing is filtered:
        classes, colours (the detection's own shares of its whole box; a person's whole is its clothes),
        cameras (by the video's camera, or claimed by the cameras file) and the wall-clock window."""
        if not self.active:
            return None
        cols = store.columns()
        if self.cameras or self.since is not None or self.until is not None:
            narrowed = self._by_video(store, cols, camera_config)
            if narrowed is not None:
                return narrowed
        keep = np.ones(len(cols), bool)
        if self.classes:
            keep &= np.isin(cols.cls, cols.class_codes(self.classes))
        for name in self.colors:
            if name not in cols.palette:
                raise ForensicError(f"unknown colour {name!r}; use one of {', '.join(cols.palette)}")
            keep &= cols.share("whole", name) >= round(MIN_SHARE * SHARE_SCALE)
        if self.cameras:
            videos = np.isin(cols.video_camera, [k for k, c in enumerate(cols.cameras) if c in self.cameras])
            wanted = [c for c in (camera_config.cameras if camera_config else []) if c.id in self.cameras and c.match]
            if wanted:  # the cameras file may claim videos recorded under another name
                owned = np.array([v["id"] for v in store.videos("done") if any(c.owns(v["path"]) for c in wanted)], np.int64)
                videos |= np.isin(cols.video_id, owned)
            keep &= videos[cols.video]
        if self.since is not None or self.until is not None:
            with np.errstate(invalid="ignore"):
                when = video_starts(store, camera_config)[cols.video] + cols.t  # NaN (unknown start) passes no time filter
                if self.since is not None:
                    keep &= when >= self.since.timestamp()
                if self.until is not None:
                    keep &= when < self.until.timestamp()
        return keep

    def _videos(self, store, cols, camera_config) -> np.ndarray:
        """Which videos (positions in the search columns) have the filter's cameras (all, without one)."""
        if not self.cameras:
            return np.ones(len(cols.video_id), bool)
        videos = np.isin(cols.video_camera, [k for k, c in enumerate(cols.cameras) if c in self.cameras])
        wanted = [c for c in (camera_config.cameras if camera_config else []) if c.id in self.cameras and c.match]
        if wanted:  # the cameras file may claim videos recorded under another name
            owned = np.array([v["id"] for v in store.videos("done") if any(c.owns(v["path"]) for c in wanted)], np.int64)
            videos |= np.isin(cols.video_id, owned)
        return videos

    def _by_video(self, store, cols, camera_config) -> np.ndarray | None:
        """`mask` from the rows of the videos a camera or time filter lets through (those of a camera and a
        week: a few hundredth of a big index) instead of every row: the same rows pass. None when the rows
        are not in video order (then every row is looked at)."""
        times = cols.video_times()
        if times is None:
            return None
        videos = self._videos(store, cols, camera_config)
        starts = None
        if self.since is not None or self.until is not None:
            starts = video_starts(store, camera_config)
            lo, hi = times
            with np.errstate(invalid="ignore"):  # NaN (unknown start) passes no time filter
                if self.since is not None:
                    videos &= starts + hi >= self.since.timestamp()  # its last row is in the window or after it
                if self.until is not None:
                    videos &= starts + lo < self.until.timestamp()
        rows = cols.rows_of_videos(np.flatnonzero(videos))
        ok = np.ones(len(rows), bool)
        if self.classes:
            ok &= np.isin(cols.cls[rows], cols.class_codes(self.classes))
        for name in self.colors:
            if name not in cols.palette:
                raise ForensicError(f"unknown colour {name!r}; use one of {', '.join(cols.palette)}")
            ok &= cols.share("whole", name)[rows] >= round(MIN_SHARE * SHARE_SCALE)
        if starts is not None:
            with np.errstate(invalid="ignore"):
                when = starts[cols.video[rows]] + cols.t[rows]
                if self.since is not None:
                    ok &= when >= self.since.timestamp()
                if self.until is not None:
                    ok &= when < self.until.timestamp()
        keep = np.zeros(len(cols), bool)
        keep[rows[ok]] = True
        return keep

    def allowed_ids(self, store, camera_config=None) -> np.ndarray | None:
        """Detection ids passing the filters (ascending), or None when nothing is filtered."""
        keep = self.mask(store, camera_config)
        return None if keep is None else store.columns().id[keep]


def video_starts(store, camera_config=None) -> np.ndarray:
    """Unix start time of each video of the search columns (NaN: unknown), made as hits make their times:
    with the clock settings of the cameras file now for the cameras it names (forensic.search.hits.clock_of),
    so a time window finds what the hits then show."""
    cols = store.columns()
    starts = np.array(cols.video_start, np.float64)
    if not getattr(camera_config, "cameras", None) or not len(starts):
        return starts
    pos = {int(v): k for k, v in enumerate(cols.video_id)}
    for r in store.videos("done"):
        k = pos.get(r["id"])
        if k is None:
            continue
        wall, _ = video_clock(r, camera_config)
        starts[k] = wall.start.timestamp() if wall is not None else np.nan
    return starts
