"""Understand a typed description in English or Vietnamese (with or without diacritics).

"red motorbike", "xe máy màu đỏ", "xe may do", "man in white shirt", "người mặc áo trắng quần đen"
become a Query: object classes, whole-object colours, upper/lower clothing colours, and the
words that were not understood (always reported, never silently dropped).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from forensic.colors import COLOR_ALIASES, PALETTE

VEHICLES = ("bicycle", "car", "motorcycle", "bus", "truck")
CLASSES = ("person",) + VEHICLES
CAPTION_NOUN = {"person": "person", "bicycle": "bicycle", "car": "car", "motorcycle": "motorbike", "bus": "bus", "truck": "truck"}


def fold(text: str) -> str:
    """Lowercase and strip diacritics: 'Xe Máy Đỏ' -> 'xe may do'."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


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

    @property
    def understood(self) -> bool:
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
        if self.ignored:
            out["ignored"] = self.ignored
        return out


def _tokens(text: str) -> list[tuple[str, str]]:
    """(raw, folded) word pairs; punctuation separates words."""
    raw = [w for w in re.split(r"[^\w]+", unicodedata.normalize("NFC", text)) if w and w != "_"]
    return [(w, fold(w)) for w in raw]


def parse_query(text: str) -> Query:
    query = Query(text=text)
    words = _tokens(text)
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
