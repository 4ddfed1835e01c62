"""Understand a typed description in English or Vietnamese (with or without diacritics).

"red motorbike", "xe máy màu đỏ", "xe may do", "man in white shirt", "người mặc áo trắng quần đen"
become a Query: object classes, whole-object colours, upper/lower clothing colours, and the
words that were not understood (always reported, never silently dropped).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from forensic.colors import COLOR_ALIASES, PALETTE

VEHICLES = ("bicycle", "car", "motorcycle", "bus", "truck")
CLASSES = ("person",) + VEHICLES
CAPTION_NOUN = {"person": "person", "bicycle": "bicycle", "car": "car", "motorcycle": "motorbike", "bus": "bus", "truck": "truck"}


def fold(text: str) -> str:
    """Lowercase and strip diacritics: 'Xe Máy Đỏ' -> 'xe may do'."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def fold_chars(text: str) -> str:
    """`fold` character by character, so positions in the result match positions in `text`."""
    return "".join((fold(c) or c)[:1] for c in text)


# --- vocabulary: folded phrase -> meaning ---------------------------------------------------
# ("class", classes, caption noun) | ("color", palette names) | ("garment", part, noun) | ("stop",)
_VOCAB: dict[str, tuple] = {}


def _add(kind: str, phrases: str, *payload) -> None:
    for phrase in phrases.split(","):
        _VOCAB[fold(phrase.strip())] = (kind, *payload)


_add("class", "motorbike,motorbikes,motorcycle,motorcycles,moto,motos,scooter,scooters,xe máy,xe mô tô,xe moto,xe gắn máy,xe ga,xe số,xe tay ga", ("motorcycle",), "motorbike")
_add("class", "motorbike rider,motorcyclist,người đi xe máy,người lái xe máy,xe ôm", ("motorcycle",), "motorbike rider")
_add("class", "bicycle,bicycles,bike,bikes,cycle,xe đạp", ("bicycle",), "bicycle")
_add("class", "cyclist,cyclists,người đi xe đạp", ("bicycle",), "cyclist")
_add("class", "car,cars,sedan,automobile,ô tô,oto,ôtô,xe hơi,xe con,xe ô tô", ("car",), "car")
_add("class", "suv,suvs,xe suv,xe gầm cao", ("car",), "SUV")
_add("class", "taxi,taxis,cab,xe taxi,tắc xi", ("car",), "taxi")
_add("class", "van,vans,minivan,mpv,xe van,xe 7 chỗ", ("car", "truck"), "van")
_add("class", "minibus,xe 16 chỗ,xe khách nhỏ", ("bus", "car", "truck"), "minibus")
_add("class", "truck,trucks,lorry,lorries,pickup,xe tải,xe ben,xe bán tải,xe container", ("truck",), "truck")
_add("class", "bus,buses,coach,xe buýt,xe bus,xe khách,xe buyt", ("bus",), "bus")
_add("class", "vehicle,vehicles,xe,phương tiện,xe cộ", VEHICLES, "vehicle")
_add("class", "person,people,persons,pedestrian,pedestrians,human,someone,somebody,người,người đi bộ,ai,đối tượng,nghi phạm,suspect", ("person",), "person")
_add("class", "man,men,guy,boy,male,đàn ông,người đàn ông,nam giới,anh,chàng trai,thanh niên,cậu bé,ông", ("person",), "man")
_add("class", "woman,women,lady,girl,female,phụ nữ,người phụ nữ,đàn bà,cô gái,chị,bà,nữ", ("person",), "woman")
_add("class", "child,children,kid,kids,trẻ em,em bé,đứa trẻ", ("person",), "child")

_add("color", "black,đen,màu đen", "black")
_add("color", "white,trắng,màu trắng", "white")
_add("color", "grey,gray,silver,xám,ghi,bạc,màu bạc,màu xám,màu ghi", "grey")
_add("color", "red,đỏ,màu đỏ,đỏ tươi,đỏ đô,đô", "red")
_add("color", "orange,cam,màu cam", "orange")
_add("color", "yellow,gold,golden,vàng,màu vàng", "yellow")
_add("color", "green,xanh lá,xanh lá cây,xanh lục,lục", "green")
_add("color", "blue,navy,xanh dương,xanh nước biển,xanh da trời,xanh lam,lam,xanh biển", "blue")
_add("color", "xanh", "blue", "green")  # Vietnamese 'xanh' alone means blue or green
_add("color", "purple,violet,pink,magenta,tím,hồng,màu hồng,màu tím", "purple")
_add("color", "brown,beige,cream,khaki,nâu,be,kem,màu nâu,màu be", "brown")

_add("garment", "shirt,shirts,t shirt,tshirt,tee,jacket,coat,top,hoodie,sweater,blouse,vest,uniform,áo,áo sơ mi,áo thun,áo phông,áo khoác,áo mưa,áo len,áo dài", "upper")
_add("garment", "pants,trousers,jeans,shorts,skirt,quần,quần dài,quần đùi,quần short,quần jean,quần bò,váy,chân váy", "lower")

_add("stop", "a,an,the,in,with,wearing,wears,dressed,of,and,or,on,color,colour,colored,coloured,who,is,that,any,some,find,show,me,all,search,for,looking,là,màu,mặc,chiếc,cái,con,một,có,những,các,và,với,của,đang,tìm,kiếm,mặc áo,người mặc", "")

_MAX_WORDS = max(len(k.split()) for k in _VOCAB)
# Words whose meaning depends on diacritics: 'tìm' (find) is not 'tím' (purple).
_ACCENTED = {"tìm": ("stop", ""), "tím": ("color", "purple")}


@dataclass
class Query:
    """What a text query asks for; empty fields mean 'any'."""

    text: str
    classes: tuple[str, ...] = ()
    colors: list[tuple[str, ...]] = field(default_factory=list)  # each entry: acceptable palette names
    upper: list[tuple[str, ...]] = field(default_factory=list)
    lower: list[tuple[str, ...]] = field(default_factory=list)
    nouns: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    cameras: tuple[str, ...] = ()  # camera ids named by a place phrase
    place: str = ""  # the place as understood (camera names)
    since: datetime | None = None
    until: datetime | None = None
    when: str = ""  # the time phrase as typed

    @property
    def understood(self) -> bool:
        """Something to rank by (class or colours); places and times only filter."""
        return bool(self.classes or self.colors or self.upper or self.lower)

    def caption(self) -> str:
        """An English caption for CLIP, built from what was understood."""
        noun = self.nouns[0] if self.nouns else (CAPTION_NOUN[self.classes[0]] if len(self.classes) == 1 else "object")
        colour = " ".join(" or ".join(c) for c in self.colors)
        text = f"a photo of a {colour + ' ' if colour else ''}{noun}"
        clothes = []
        if self.upper:
            clothes.append(f"a {' '.join('/'.join(c) for c in self.upper)} top")
        if self.lower:
            clothes.append(f"{' '.join('/'.join(c) for c in self.lower)} trousers")
        if clothes:
            text += " wearing " + " and ".join(clothes)
        return text

    def describe(self) -> dict:
        out = {"class": list(self.classes) or "any"}
        if self.colors:
            out["colour"] = ["/".join(c) for c in self.colors]
        if self.upper:
            out["upper body"] = ["/".join(c) for c in self.upper]
        if self.lower:
            out["lower body"] = ["/".join(c) for c in self.lower]
        if self.place:
            out["camera"] = self.place
        if self.since or self.until:
            out["time"] = f"{self.since.isoformat(timespec='minutes') if self.since else '...'} to {self.until.isoformat(timespec='minutes') if self.until else '...'}"
        if self.ignored:
            out["ignored"] = self.ignored
        return out


def _tokens(text: str) -> list[tuple[str, str]]:
    """(raw, folded) word pairs; punctuation separates words."""
    raw = [w for w in re.split(r"[^\w]+", unicodedata.normalize("NFC", text)) if w and w != "_"]
    return [(w, fold(w)) for w in raw]



# Words that introduce a place. With diacritics (or in English) they must be followed by a known
# place; without diacritics ("gan", "tai") they may be other words ("xe tai" is a truck).
_PLACE_WORDS = {"near", "at", "gần", "tại", "ở", "around", "quanh", "khu vực", "trước", "in front of"}
_WEAK_PLACE_WORDS = {"gan", "tai", "o", "khu vuc", "quanh", "truoc"}


def _cut(text: str, spans) -> str:
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def _extract_place(raw: str, cameras) -> tuple[list, list[tuple[int, int]]]:
    """Cameras named in the text and the character spans used (place word + name)."""
    from forensic.errors import ForensicError

    folded = fold_chars(raw.lower())
    lowered = raw.lower()
    found, spans = [], []
    cams = cameras.cameras if cameras else []
    for m in re.finditer(r"\b(near|at|around|in front of|gần|tại|ở|quanh|khu vực|trước|gan|tai|o|khu vuc|truoc)\s+", lowered):
        rest_start = m.end()
        rest = folded[rest_start:]
        best = None
        for cam in cams:
            for alias in cam.aliases:
                if re.match(re.escape(alias) + r"\b", rest) and (best is None or len(alias) > best[1]):
                    best = (cam, len(alias))
        if best is None and cameras:
            words = rest.split()
            for n in range(min(6, len(words)), 0, -1):  # forgiving: a misspelt name
                cam = cameras.find_place(" ".join(words[:n]))
                if cam is not None:
                    span_text = " ".join(rest.split()[:n])
                    best = (cam, rest.find(span_text) + len(span_text))
                    break
        if best is not None:
            found.append(best[0])
            spans.append((m.start(), rest_start + best[1]))
        elif m.group(1) in _PLACE_WORDS:
            words = raw[rest_start:].split()
            raise ForensicError(f"unknown place {' '.join(words[:4])!r}; known places: "
                                f"{cameras.known_places() if cameras else 'none (give a cameras file with --cameras)'}")
    for cam in cams:  # a place named without "near"/"gần"
        for alias in cam.aliases:
            if len(alias) < 6:
                continue
            for m in re.finditer(r"\b" + re.escape(alias) + r"\b", folded):
                if not any(a <= m.start() < b for a, b in spans):
                    found.append(cam)
                    spans.append(m.span())
    return found, spans


def parse_query(text: str, cameras=None, now: datetime | None = None, tz: str = "Asia/Ho_Chi_Minh") -> Query:
    """Parse a description; `cameras` (forensic.cameras.Cameras) resolves place names, `now` anchors
    relative times ("last night")."""
    from forensic.errors import ForensicError
    from forensic.search.when import TimeError, extract_time

    query = Query(text=text)
    raw = unicodedata.normalize("NFC", text)
    try:
        query.since, query.until, query.when, spans = extract_time(fold_chars(raw.lower()), now or datetime.now().astimezone(), tz)
    except TimeError as e:
        raise ForensicError(str(e)) from None
    raw = _cut(raw, spans)
    places, spans = _extract_place(raw, cameras)
    raw = _cut(raw, spans)
    for cam in places:
        if cam.id not in query.cameras:
            query.cameras += (cam.id,)
    query.place = ", ".join(c.name for c in {c.id: c for c in places}.values())
    words = _tokens(raw)
    items: list[tuple] = []  # (kind, payload..., raw words)
    i = 0
    while i < len(words):
        meaning, width = _ACCENTED.get(words[i][0].lower()), 1
        if meaning is None:
            for n in range(min(_MAX_WORDS, len(words) - i), 0, -1):
                meaning = _VOCAB.get(" ".join(w for _, w in words[i : i + n]))
                if meaning:
                    width = n
                    break
        raw = " ".join(w for w, _ in words[i : i + width])
        items.append((meaning or ("unknown",)) + (raw,))
        i += width

    # Attach each colour to a garment next to it: before it in English ("white shirt"),
    # after it in Vietnamese ("áo trắng"); otherwise it describes the whole object.
    content = [it for it in items if it[0] != "stop"]
    coloured: set[int] = set()  # garments that already have a colour
    for k, it in enumerate(content):
        kind = it[0]
        if kind == "class":
            for c in it[1]:
                if c not in query.classes:
                    query.classes += (c,)
            query.nouns.append(it[2])
        elif kind == "color":
            names = tuple(COLOR_ALIASES.get(n, n) for n in it[1:-1])
            before = content[k - 1] if k > 0 else None
            after = content[k + 1] if k + 1 < len(content) else None
            if before and before[0] == "garment" and k - 1 not in coloured:
                coloured.add(k - 1)
                getattr(query, before[1]).append(names)
            elif after and after[0] == "garment":
                coloured.add(k + 1)
                getattr(query, after[1]).append(names)
            else:
                query.colors.append(names)
        elif kind == "garment":
            if not query.classes:
                query.classes = ("person",)
        elif kind == "unknown":
            if k > 0 and content[k - 1][0] == "unknown" and query.ignored:
                query.ignored[-1] += " " + it[-1]
            else:
                query.ignored.append(it[-1])
    if (query.upper or query.lower) and query.colors and query.classes == ("person",):
        # "man in white" with a garment elsewhere: a bare colour on a person describes clothing
        query.upper.extend(query.colors)
        query.colors = []
    assert all(n in PALETTE for c in query.colors + query.upper + query.lower for n in c)
    return query
