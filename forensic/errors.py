"""Errors a user can cause and fix; the CLI prints them as one line, never a traceback."""


class ForensicError(Exception):
    """A problem with the user's input or configuration (bad path, missing model, ...)."""


class VideoError(ForensicError):
    """One video cannot be read; the batch goes on with the others."""


class ModelUnavailable(ForensicError):
    """Weights are missing and no download was asked for."""
