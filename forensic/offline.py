"""No network, no telemetry: what forensic does so that no dependency phones home.

`no_telemetry()` runs when the forensic package is imported, so it comes before any dependency is:

- OpenVINO: `import openvino` imports its model converter (openvino.tools.ovc), which sends a usage
  event ("ov import") to Google Analytics through the `openvino_telemetry` package, with a client id it
  keeps in ~/intel/openvino_ga_cid. The converter uses its own no-op stub when `openvino_telemetry`
  cannot be imported; forensic never converts a model, so that package is made unimportable in this
  process (nothing is written into the user's home, no consent file is needed). If it was imported
  already (a host program), its telemetry object is told there is no consent.
- Ultralytics: YOLO_OFFLINE=1, always. Without it, importing ultralytics resolves one.one.one.one and
  dns.google to find out whether it is online, and when online sends usage events (Events, with the
  persistent uuid of its settings file) for predict/export runs. Downloads asked for with --download
  do not need it.
- Hugging Face hub (open_clip weights with --download): HF_HUB_DISABLE_TELEMETRY=1.

Model downloads happen only with --download (see forensic.models.base.configure_offline).
tests/test_offline.py runs `index` and `search` in a fresh process that records every attempt to open a
network socket or resolve a name, and fails on any.
"""

from __future__ import annotations

import os
import sys


def no_telemetry() -> None:
    """Turn off the usage analytics and online checks of every dependency (idempotent)."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("DO_NOT_TRACK", "1")  # the cross-tool convention, for whatever else honours it
    telemetry = sys.modules.get("openvino_telemetry", "absent")
    if telemetry == "absent":
        sys.modules["openvino_telemetry"] = None  # `import openvino_telemetry` now raises ImportError
    elif telemetry is not None:
        instance = getattr(telemetry.Telemetry, "_SingletonMetaClass__single_instance", None)
        if instance is not None:
            instance.consent = False
    events = sys.modules.get("ultralytics.utils.events")
    if events is not None and hasattr(events, "events"):
        events.events.enabled = False
