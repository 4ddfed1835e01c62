"""Where the pipeline's side work (pose on a track's best views, plate reading) runs: `Side`, one worker
thread beside the indexing, or `INLINE`, the caller's own thread (tests, a single call). Both take
`submit(fn, *args)` and give a Future, so the collectors (forensic.index.plates, .bestviews) are written once."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor


class Side(ThreadPoolExecutor):
    """One worker thread beside the pipeline; `busy` sums the seconds it worked."""

    def __init__(self):
        super().__init__(1, thread_name_prefix="forensic-side")
        self.busy = 0.0

    def submit(self, fn, /, *args, **kwargs):
        def timed():
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.busy += time.perf_counter() - start  # only the worker writes it

        return super().submit(timed)


class Inline:
    """Runs the work at once in the caller's thread (an error is raised there); its Future is already done."""

    @staticmethod
    def submit(fn, /, *args, **kwargs) -> Future:
        future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


INLINE = Inline()
