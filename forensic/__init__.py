"""forensic: search recorded CCTV footage by description or by photo, offline."""

__version__ = "0.1.0"
