"""Errors a user can cause and fix; the CLI prints them as one line, never a traceback. Also how a signal
(SIGTERM, Ctrl-C) stops a command that must clean up: Interrupted."""

from contextlib import contextmanager


class ForensicError(Exception):
    """A problem with the user's input or configuration (bad path, missing model, ...)."""


class VideoError(ForensicError):
    """One video cannot be read; the batch goes on with the others."""


class ModelUnavailable(ForensicError):
    """Weights are missing and no download was asked for."""


class IntegrityError(ForensicError):
    """What was recorded no longer matches: a recording changed since it was indexed, or the index itself
    is damaged. The command refuses (exit 3) rather than hand out something wrong."""


class AuditError(ForensicError):
    """The audit entry of a command could not be written: nothing it made is handed out (exit 4)."""


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived while a command had work to undo (an export: its ffmpeg, its unfinished folder).
    A BaseException, so no `except Exception` swallows it; the command line prints it as one line and exits with
    128 + the signal's number (143 for SIGTERM, 130 for SIGINT), as a shell reports a process ended by it."""

    def __init__(self, signum: int, message: str | None = None):
        import signal

        self.signum = signum
        self.signame = signal.Signals(signum).name
        super().__init__(message or f"interrupted by {self.signame}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextmanager
def interruptible(on_signal=None, signums: tuple[int, ...] | None = None):
    """While inside, SIGTERM and SIGINT (or `signums`) raise Interrupted in the main thread, so `finally` and
    `except BaseException` blocks clean up (stop child processes, remove unfinished outputs) instead of the
    process dying where it stands (SIGTERM's default) or Ctrl-C surfacing anywhere as KeyboardInterrupt. Only
    the first signal raises, after calling `on_signal()` (e.g. forensic.tools.stop_all: children running in other
    threads are stopped too); a second one while cleaning up is ignored (SIGKILL still ends the process). The
    previous handlers come back on leaving. Outside the main thread it does nothing (Python only lets the
    main thread handle signals)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signums = signums or (signal.SIGTERM, signal.SIGINT)
    raised = []

    def handler(signum, frame):
        if not raised:
            raised.append(signum)
            if on_signal is not None:
                on_signal()
            raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in signums}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)  # None: a handler set outside Python
