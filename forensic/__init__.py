"""forensic: search recorded CCTV footage by description or by photo, offline."""

from forensic.offline import no_telemetry

__version__ = "0.1.0"

no_telemetry()  # before any dependency is imported: see forensic/offline.py
