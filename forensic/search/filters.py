"""Filters (class, camera, time window) applied before ranking, so a filtered query still returns
its top N, and the vector search only ever sees allowed detections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass
class Filters:
    classes: tuple[str, ...] = ()
    cameras: tuple[str, ...] = ()  # camera ids
    since: datetime | None = None
    until: datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.classes or self.cameras or self.since or self.until)

    def where(self, store, camera_config=None) -> tuple[str, list]:
        """SQL condition on detections `d` joined with videos `v`."""
        sql, params = ["v.status='done'"], []
        if self.classes:
            sql.append(f"d.cls IN ({','.join('?' * len(self.classes))})")
            params += list(self.classes)
        if self.cameras:
            wanted = [c for c in (camera_config.cameras if camera_config else []) if c.id in self.cameras]
            videos = [r["id"] for r in store.videos("done") if r["camera"] in self.cameras or any(c.owns(r["path"]) for c in wanted)]
            sql.append(f"d.video_id IN ({','.join('?' * len(videos))})" if videos else "0")
            params += videos
        if self.since is not None:
            sql.append("v.start_epoch + d.t >= ?")
            params.append(self.since.timestamp())
        if self.until is not None:
            sql.append("v.start_epoch + d.t < ?")
            params.append(self.until.timestamp())
        return " AND ".join(sql), params

    def allowed_ids(self, store, camera_config=None) -> np.ndarray | None:
        """Detection ids passing the filters, or None when nothing is filtered."""
        if not self.active:
            return None
        sql, params = self.where(store, camera_config)
        rows = store.db.execute(f"SELECT d.id FROM detections d JOIN videos v ON v.id=d.video_id WHERE {sql}", params).fetchall()
        return np.fromiter((r[0] for r in rows), np.int64, count=len(rows))
