"""Licence plate text, in pure Python (no models): the three forms of a plate, the Vietnamese plate
formats, and confusion-tolerant matching of a typed pattern. Every layer may use it: the query parser
(plate phrases), the index (normalising what the reader read) and search (ranking by plate).

Plate text has three forms: raw (as read, `30F/621.51`), normalised (`normalise_plate`: upper case,
only letters and digits, `30F62151`, what is stored and matched) and display (`display_plate`:
`30F-621.51`, motorbikes `29-B1 123.45`). Matching (`plate_distance`) is a weighted edit distance in
which the reader's usual confusions (0/O/D, 1/I/L, 8/B, 5/S, 2/Z, 6/G) cost less, with `?` (any one
character) and `*` (any run) wildcards.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# --- text forms -----------------------------------------------------------------------------------


def normalise_plate(text: str, wildcards: bool = False) -> str:
    """Upper case, diacritics off, only letters and digits ('30f-621.51' -> '30F62151'); with
    `wildcards`, '?' and '*' are kept (a run of '*' becomes one)."""
    text = unicodedata.normalize("NFD", (text or "").replace("đ", "D").replace("Đ", "D").upper())
    keep = "A-Z0-9" + (r"?*" if wildcards else "")
    out = re.sub(f"[^{keep}]", "", "".join(c for c in text if unicodedata.category(c) != "Mn"))
    return re.sub(r"\*+", "*", out)


_DISPLAY = [
    (re.compile(r"^(\d{2})([A-Z])(\d)(\d{3})(\d{2})$"), "{0}-{1}{2} {3}.{4}"),  # motorbike 29-B1 123.45
    (re.compile(r"^(\d{2})([A-Z]{2})(\d)(\d{3})(\d{2})$"), "{0}-{1}{2} {3}.{4}"),  # motorbike 29-MD2 729.72
    (re.compile(r"^(\d{2})([A-Z]{1,2})(\d{3})(\d{2})$"), "{0}{1}-{2}.{3}"),  # car 30F-621.51, 51LD-123.45
    (re.compile(r"^(\d{2})([A-Z])(\d)(\d{4})$"), "{0}-{1}{2} {3}"),  # old motorbike 29-B1 1234 (never 30F-621.51)
    (re.compile(r"^(\d{2})([A-Z]{1,2})(\d{4})$"), "{0}{1}-{2}"),  # car 29A-1234
    (re.compile(r"^([A-Z]{2})(\d{2})(\d{2})$"), "{0}-{1}-{2}"),  # army TM-12-34
]


def display_plate(norm: str) -> str:
    """The usual written form of a normalised plate ('30F62151' -> '30F-621.51'); as it is when unknown."""
    for pattern, form in _DISPLAY:
        m = pattern.match(norm)
        if m:
            return form.format(*m.groups())
    return norm


# Templates of Vietnamese plates, one character class per position: D digit, L letter, X either.
# Cars 30F-621.51 / 29A-1234 / series of two letters 51LD-123.45, 80NG-123.45, 29KT-1234; motorbikes
# 29-B1 123.45 / 59-V1 533.10 / 29-B1 1234, two-letter series 29-MD2 729.72 / 95-EA 016.24; army and
# police letters TM-12-34.
TEMPLATES = ("DDLDDDDD", "DDLDDDD", "DDLLDDDDD", "DDLLDDDD", "DDLDDDDDD", "DDLLDDDDDD", "LLDDDD")
SPECIAL_SERIES = ("NG", "NN", "LD", "KT", "QT", "CV", "NT", "MK", "MD", "TD", "HC", "DA", "RM")
_TO_DIGIT = {"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "L": "1", "J": "1", "T": "7", "B": "8", "S": "5", "Z": "2",
             "G": "6", "A": "4"}
_TO_LETTER = {"0": "D", "1": "L", "8": "B", "5": "S", "2": "Z", "6": "G", "4": "A", "7": "T"}


def plate_format(norm: str) -> tuple[str, float]:
    """(text fitted to the nearest Vietnamese plate template, score 0..1): 1 for a plate as read,
    less for each character turned digit<->letter along a usual reader confusion and for a stray
    character dropped at either end (a screw, the plate's frame), 0 when no template fits."""
    best = _fit(norm)
    if best[1] < 1.0 and len(norm) > 6:
        for trimmed in (norm[1:], norm[:-1]):
            text, score = _fit(trimmed)
            if score * 0.85 > best[1]:
                best = (text, round(score * 0.85, 4))
    return best


def _fit(norm: str) -> tuple[str, float]:
    best = (norm, 0.0)
    for template in TEMPLATES:
        if len(template) != len(norm):
            continue
        out, cost = [], 0.0
        for want, ch in zip(template, norm):
            if want == "D" and not ch.isdigit():  # a letter read for a digit: the usual confusion
                ch, cost = _TO_DIGIT.get(ch, ""), cost + 0.1
            elif want == "L" and not ch.isalpha():  # a digit read for the series letter: as likely a lost letter
                ch, cost = _TO_LETTER.get(ch, ""), cost + 0.35
            if not ch:
                break
            out.append(ch)
        else:
            text = "".join(out)
            score = max(0.0, 1.0 - cost)
            if template == "LLDDDD":
                score *= 0.8
            if score > best[1]:
                best = (text, score)
    return best


# --- matching -------------------------------------------------------------------------------------
CONFUSIONS = ("0OD", "1IL", "8B", "5S", "2Z", "6G")
CONFUSION_COST = 0.3
_CONFUSE = {(a, b) for group in CONFUSIONS for a in group for b in group if a != b}


def _sub_cost(p: str, t: str) -> float:
    if p == t or p == "?":
        return 0.0
    return CONFUSION_COST if (p, t) in _CONFUSE else 1.0


def plate_distance(pattern: str, text: str, contains: bool = False) -> float:
    """Weighted edit distance from a normalised pattern (with '?' and '*') to a normalised plate:
    a reader confusion costs CONFUSION_COST, other edits 1. `contains`: the pattern may match
    anywhere in the plate (what is before and after it is free)."""
    m, n = len(pattern), len(text)
    prev = [0.0] * (n + 1) if contains else [float(j) for j in range(n + 1)]
    for i in range(1, m + 1):
        p = pattern[i - 1]
        cur = [0.0] * (n + 1)
        if p == "*":
            cur[0] = prev[0]
            for j in range(1, n + 1):
                cur[j] = min(prev[j], cur[j - 1])
        else:
            cur[0] = prev[0] + 1.0
            for j in range(1, n + 1):
                cur[j] = min(prev[j - 1] + _sub_cost(p, text[j - 1]), prev[j] + 1.0, cur[j - 1] + 1.0)
        prev = cur
    return min(prev) if contains else prev[n]


@dataclass(frozen=True)
class PlatePattern:
    """A plate as asked: normalised, with wildcards; a partial plate without wildcards matches anywhere."""

    typed: str
    norm: str
    contains: bool

    @classmethod
    def parse(cls, typed: str, suffix: bool = False) -> "PlatePattern":
        """`suffix`: the plate ends with it ("đuôi 51")."""
        norm = normalise_plate(typed, wildcards=True)
        if suffix and not norm.startswith("*"):
            norm = "*" + norm
        full = len(norm.replace("*", "")) >= 7
        return cls(typed, norm, contains="*" not in norm and "?" not in norm and not full)

    def describe(self) -> str:
        """How the pattern was understood: '30F-621.51', 'ends with 51', 'contains 29B1', '*6215?'."""
        core = self.norm.replace("*", "")
        if self.contains:
            return f"contains {core}"
        if self.norm.startswith("*") and "*" not in self.norm[1:] and "?" not in self.norm:
            return f"ends with {core}"
        if self.norm.endswith("*") and "*" not in self.norm[:-1] and "?" not in self.norm:
            return f"starts with {core}"
        return self.norm if "*" in self.norm or "?" in self.norm else display_plate(self.norm)

    @property
    def chars(self) -> int:
        return len(self.norm.replace("*", ""))

    @property
    def allowed(self) -> float:
        """Largest distance that still counts as a match: a confusion for short patterns, one wrong
        character up to 6 characters, two for a full plate."""
        return CONFUSION_COST + 0.05 if self.chars <= 3 else 1.0 if self.chars <= 6 else 2.0

    def distance(self, norm: str) -> float:
        return plate_distance(self.norm, norm, self.contains)

    def similarity(self, norm: str | None) -> float:
        """1 for an exact match, down to just above 0 at the allowed distance, 0 beyond or when unread."""
        if not norm or not self.norm.replace("*", ""):
            return 0.0
        d = self.distance(norm)
        return 0.0 if d > self.allowed + 1e-9 else 1.0 - d / (self.allowed + 1.0)


# --- plates in typed text -------------------------------------------------------------------------
# On folded text (lower case, no diacritics: forensic.query.parse.fold_chars), so positions match the
# typed text. A keyword ("biển số", "BKS", "plate", ...) takes the plate-like words after it (each with a
# digit or a wildcard); "đuôi 51" is a plate ending in 51; a word shaped like a Vietnamese plate
# ("30F-621.51", "29-B1 123.45", "29A-1234") is a plate without any keyword.
_KEYWORD = (r"bien so xe|bien so|bien kiem soat|bien xe|bien|bks|number plates?|licen[cs]e plates?|plate numbers?|plate no|"
            r"plates?|registration")
_SUFFIX = r"so duoi|duoi|ends? with|ending (?:in|with)"
_WORD = r"(?=[a-z0-9.\-/]*[0-9?*])[a-z0-9?*][a-z0-9?*.\-/]*"
_RUN = rf"{_WORD}(?:\s+{_WORD})*"
_PHRASE = re.compile(rf"(?<![a-z0-9])(?:(?P<suffix>{_SUFFIX})|(?:{_KEYWORD}))\s*[:#]?\s*(?P<plate>{_RUN})")
_BARE = re.compile(r"(?<![a-z0-9.\-])(\d{2}\s?-?\s?[a-z]{1,2}\d?(?:\s?[-.]?\s?)\d{3}\.?\d{2}|\d{2}[a-z]{1,2}\d?-\d{4})(?![a-z0-9.\-])")


def find_plates(folded: str) -> list[tuple[PlatePattern, tuple[int, int]]]:
    """Plate patterns in a folded text, each with the character span it used (keyword included)."""
    found: list[tuple[PlatePattern, tuple[int, int]]] = []
    for m in _PHRASE.finditer(folded):
        typed = m.group("plate").strip(" .-/")
        if typed:
            found.append((PlatePattern.parse(typed.upper(), suffix=m.group("suffix") is not None), m.span()))
    for m in _BARE.finditer(folded):
        if not any(a <= m.start() < b for _, (a, b) in found):
            found.append((PlatePattern.parse(m.group(1).upper()), m.span()))
    return found
