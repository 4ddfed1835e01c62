"""The names forensic knows, in one place: the object classes it indexes (with their COCO ids and
caption nouns), the colour palette and the colour names a user may type for it, and the default
timezone. Plain data, no imports: every layer may read it (the detector, colour naming, the parser,
the cameras file). The English/Vietnamese phrases that map typed words to these names are the
parser's (forensic.query.parse)."""

from __future__ import annotations

DEFAULT_TZ = "Asia/Ho_Chi_Minh"  # recordings, cameras and typed times without a zone of their own

# COCO class ids of the classes forensic indexes (the detector keeps these and drops the rest).
COCO_KEEP = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}
VEHICLES = ("bicycle", "car", "motorcycle", "bus", "truck")
CLASSES = ("person",) + VEHICLES
CAPTION_NOUN = {"person": "person", "bicycle": "bicycle", "car": "car", "motorcycle": "motorbike", "bus": "bus", "truck": "truck"}

# The 11 basic colour terms (Berlin and Kay), the names colours are given in (forensic.colornames).
PALETTE = ("black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown")
# Names a user may type for a palette colour (a witness's words; the parser adds Vietnamese ones).
COLOR_ALIASES = {"gray": "grey", "silver": "grey", "violet": "purple", "magenta": "pink", "beige": "brown", "tan": "brown",
                 "cream": "white", "gold": "yellow", "navy": "blue", "cyan": "blue", "maroon": "red"}
