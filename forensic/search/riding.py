"""The riding rules live in the index layer (forensic.index.riding: the search columns store what they
find); their names stay importable from here."""

from forensic.index.riding import RIDDEN, RIDING_VERSION, TRACK_SHARE, WINDOW, over_tracks, riding  # noqa: F401
