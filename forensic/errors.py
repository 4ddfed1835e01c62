"""Errors a user can cause and fix; the CLI prints them as one line, never a traceback."""


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
