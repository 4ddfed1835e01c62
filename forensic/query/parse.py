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

from forensic.errors import ForensicError
from forensic.plates import PlatePattern, find_plates
from forensic.query.vocabulary import CAPTION_NOUN, COLOR_ALIASES, DEFAULT_TZ, PALETTE, VEHICLES
from forensic.query.when import TimeError, extract_time


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
_add("class", "bicycle,bicycles,bike,bikes,cycle,xe đạp", ("bicycle",), "bicycle")
# Riders: a person on a vehicle ("rider", vehicle classes, caption noun); see Query.riding.
_add("rider", "motorbike rider,motorbike riders,motorcycle rider,motorcycle riders,scooter rider,motorcyclist,motorcyclists,"
     "biker,bikers,người đi xe máy,người lái xe máy,người chạy xe máy,đi xe máy,lái xe máy,chạy xe máy,người đi xe ga,"
     "đi xe ga,xe ôm,shipper", ("motorcycle",), "motorbike rider")
_add("rider", "cyclist,cyclists,bicycle rider,bike rider,người đi xe đạp,đi xe đạp,đạp xe,người đạp xe", ("bicycle",), "cyclist")
_add("rider", "rider,riders", ("motorcycle", "bicycle"), "rider")
_add("ride", "riding,rides,ride")  # "man riding a motorbike": the next vehicle is ridden
_add("class", "car,cars,sedan,automobile,ô tô,oto,ôtô,xe hơi,xe con,xe ô tô", ("car",), "car")
_add("class", "suv,suvs,xe suv,xe gầm cao", ("car",), "SUV")
_add("class", "taxi,taxis,cab,xe taxi,tắc xi", ("car",), "taxi")
_add("class", "van,vans,minivan,mpv,xe van,xe 7 chỗ", ("car", "truck"), "van")
_add("class", "minibus,xe 16 chỗ,xe khách nhỏ", ("bus", "car", "truck"), "minibus")
_add("class", "truck,trucks,lorry,lorries,pickup,xe tải,xe ben,xe bán tải,xe container", ("truck",), "truck")
_add("class", "bus,buses,coach,xe buýt,xe bus,xe khách,xe buyt", ("bus",), "bus")
_add("class", "vehicle,vehicles,xe,phương tiện,xe cộ", VEHICLES, "vehicle")
_add("class", "person,people,persons,pedestrian,pedestrians,human,someone,somebody,người,người đi bộ,ai,đối tượng,nghi phạm,suspect,driver,tài xế", ("person",), "person")
_add("class", "man,men,guy,boy,male,đàn ông,người đàn ông,nam giới,anh,chàng trai,thanh niên,cậu bé,ông", ("person",), "man")
_add("class", "woman,women,lady,girl,female,phụ nữ,người phụ nữ,đàn bà,cô gái,chị,bà,nữ", ("person",), "woman")
_add("class", "child,children,kid,kids,trẻ em,em bé,đứa trẻ", ("person",), "child")

_add("color", "black,đen,màu đen", "black")
_add("color", "white,trắng,màu trắng", "white")
_add("color", "grey,gray,silver,xám,ghi,bạc,màu bạc,màu xám,màu ghi", "grey")
_add("color", "red,đỏ,màu đỏ,đỏ tươi,đỏ đô,đô", "red")
_add("color", "orange,cam,màu cam", "orange")
_add("color", "yellow,gold,golden,vàng,màu vàng", "yellow")
_add("color", "green,xanh lá,xanh lá cây,xanh lục,lục,xanh rêu,xanh bộ đội,xanh lá mạ,xanh cốm", "green")
_add("color", "blue,navy,dark blue,light blue,xanh dương,xanh nước biển,xanh da trời,xanh lam,lam,xanh biển,xanh than,"
     "xanh đen,xanh navy,xanh đậm,xanh tím than,tím than,xanh coban", "blue")
_add("color", "xanh", "blue", "green")  # Vietnamese 'xanh' alone means blue or green
_add("color", "purple,violet,lilac,lavender,tím,màu tím,tím hoa cà,màu tím than", "purple")
_add("color", "pink,magenta,hồng,màu hồng,hồng phấn,hồng cánh sen,cánh sen", "pink")
_add("color", "brown,beige,khaki,nâu,be,kem,màu nâu,màu be,màu kem,màu cà phê,màu bò", "brown")
_add("stop", "may be,to be,could be,can be,might be,will be,would be,should be", "")  # English 'be' is no beige
_add("color", "cream,ivory,trắng kem,trắng sữa", "white")
# Liveries a witness names as colours: ride-hailing jackets and helmets (Grab and Gojek green, Be
# yellow), taxi companies (Mai Linh green, Vinasun white, Xanh SM cyan: blue or green).
_add("color", "grab,gojek,mai linh", "green")
_add("color", "vinasun", "white")
_add("color", "xanh sm,xanh ngọc,cyan,teal,turquoise", "blue", "green")

# Garments: 'áo' alone is any top; the longest phrase wins, so 'áo khoác' (jacket) and 'áo sơ mi'
# (shirt) are one garment, and 'mặc' (wear) is a separate stop word that never swallows the 'áo'.
_add("garment", "shirt,shirts,t shirt,tshirt,tee,polo,jacket,jackets,coat,coats,top,tops,hoodie,sweater,jumper,blouse,vest,"
     "uniform,raincoat,cardigan,áo,áo sơ mi,sơ mi,áo thun,áo phông,áo khoác,khoác,áo mưa,áo len,áo dài,áo gió,áo vest,"
     "áo ba lỗ,áo hoodie,áo polo,áo đồng phục,áo choàng,áo lạnh,áo phao,áo bò,áo jean", "upper")
_add("garment", "pants,trousers,jeans,shorts,skirt,leggings,quần,quần dài,quần đùi,quần short,quần soóc,quần jean,quần bò,"
     "quần âu,quần tây,quần kaki,váy,chân váy,đầm", "lower")
_add("garment", "helmet,helmets,hat,cap,hair,mũ,nón,mũ bảo hiểm,nón bảo hiểm,mũ lưỡi trai,nón lá,tóc", "head")

_add("stop", "a,an,the,in,with,wearing,wears,wear,dressed,of,and,or,on,color,colour,colored,coloured,who,is,that,any,some,find,"
     "show,me,all,search,for,looking,là,màu,mặc,đang mặc,chiếc,cái,con,một,có,những,các,và,hoặc,hay,với,của,đang,tìm,kiếm,"
     "bị,được,đội,đeo,đang đội", "")
# Plate words left without a plate after them ("biển số đuôi 51": "đuôi 51" is the plate).
_add("stop", "biển số,biển,bks,biển kiểm soát,biển xe,plate,number plate,licence plate,license plate,đuôi,số đuôi", "")

_MAX_WORDS = max(len(k.split()) for k in _VOCAB)
_PERSON_NOUNS = {m[2] for m in _VOCAB.values() if m[0] == "class" and m[1] == ("person",)}
# Words whose meaning depends on diacritics: 'tìm' (find) is not 'tím' (purple).
_ACCENTED = {"tìm": ("stop", ""), "tím": ("color", "purple"),
             "Be": ("color", "yellow"),  # the Be ride-hailing livery (capitalised); 'be' is beige
             # words that fold to a colour without their diacritics: cầm (hold) is no cam (orange), lúc
             # (at, of time) no lục (green), bác (uncle) no bạc (silver), kèm/làm no kem/lam
             "cầm": ("unknown",), "lúc": ("unknown",), "bác": ("unknown",), "kèm": ("unknown",), "làm": ("unknown",),
             "đến": ("stop", ""),  # 'to', 'until' (from a time phrase, or 'đi đến chợ'): never đen (black)
             "bé": ("class", ("person",), "child")}


@dataclass
class Query:
    """What a text query asks for; empty fields mean 'any'."""

    text: str
    classes: tuple[str, ...] = ()
    colors: list[tuple[str, ...]] = field(default_factory=list)  # each entry: acceptable palette names
    upper: list[tuple[str, ...]] = field(default_factory=list)
    lower: list[tuple[str, ...]] = field(default_factory=list)
    head: list[tuple[str, ...]] = field(default_factory=list)  # hair, or a rider's helmet
    # A rider ("motorbike rider", "cyclist", "người đi xe máy", "man riding a motorbike"): the vehicle
    # classes ridden. `classes` holds those vehicles (plus "person" when a person word was typed); the
    # ranking (forensic.search.text.candidate_rows) also takes the people who ride one of them
    # (forensic.search.riding) and no other people, and judges clothing colours on those people.
    riding: tuple[str, ...] = ()
    nouns: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    cameras: tuple[str, ...] = ()  # camera ids named by a place phrase
    place: str = ""  # the place as understood (camera names)
    since: datetime | None = None
    until: datetime | None = None
    when: str = ""  # the time phrase as typed
    # Licence plates asked for ("biển số 30F-621.51", "đuôi 51", --plate): they add to the score of the
    # tracks whose plate matches, and filter only when nothing else is asked (forensic.search.text).
    plates: list[PlatePattern] = field(default_factory=list)

    @property
    def understood(self) -> bool:
        """Something to rank by (class, colours or a plate); places and times only filter."""
        return bool(self.appearance or self.plates)

    @property
    def appearance(self) -> bool:
        """A class or colours are asked for (not only a plate)."""
        return bool(self.classes or self.colors or self.upper or self.lower or self.head)

    @property
    def clothing(self) -> bool:
        return bool(self.upper or self.lower or self.head)

    def wanted(self) -> list[tuple[str, tuple[str, ...]]]:
        """(part, acceptable colours) for every colour asked: whole object, top, bottom, head."""
        return [(part, g) for part in ("whole", "upper", "lower", "head")
                for g in getattr(self, "colors" if part == "whole" else part)]

    def caption(self) -> str:
        """An English caption for CLIP, built from what was understood."""
        noun = self.nouns[0] if self.nouns else (CAPTION_NOUN[self.classes[0]] if len(self.classes) == 1 else "object")
        colour = " ".join(" or ".join(c) for c in self.colors)
        people = [n for n in self.nouns if n in _PERSON_NOUNS]
        if self.riding and people:  # "man riding a red motorbike"
            text = f"a photo of a {people[0]} riding a {colour + ' ' if colour else ''}{CAPTION_NOUN[self.riding[0]]}"
        else:
            text = f"a photo of a {colour + ' ' if colour else ''}{noun}"
        clothes = []
        if self.upper:
            clothes.append(f"a {' '.join('/'.join(c) for c in self.upper)} top")
        if self.lower:
            clothes.append(f"{' '.join('/'.join(c) for c in self.lower)} trousers")
        if self.head:
            clothes.append(f"a {' '.join('/'.join(c) for c in self.head)} helmet")
        if clothes:
            text += " wearing " + " and ".join(clothes)
        return text

    def describe(self) -> dict:
        out = {"class": list(self.classes) or "any"}
        if self.riding:
            out["riding"] = list(self.riding)
        if self.colors:
            out["colour"] = ["/".join(c) for c in self.colors]
        if self.upper:
            out["upper body"] = ["/".join(c) for c in self.upper]
        if self.lower:
            out["lower body"] = ["/".join(c) for c in self.lower]
        if self.head:
            out["head"] = ["/".join(c) for c in self.head]
        if self.plates:
            out["plate"] = [p.describe() for p in self.plates]
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


_CONJUNCTIONS = {"and", "or", "va", "hoac", "hay"}


def _understand(query: Query, items: list[tuple]) -> None:
    """Fill `query` from the items of the text, in typed order.

    Colours attach to a garment next to them: after it in Vietnamese ("áo khoác đỏ và xanh than"),
    before it in English ("red and navy jacket"); a run of colours joined by "and"/"và" (or nothing)
    attaches as a whole. Colours next to no garment describe the whole object.
    """
    content: list[tuple] = []  # items without stop words
    joined: list[bool] = []  # only conjunctions (or nothing) between this item and the previous one
    either: list[bool] = []  # ... and one of them is "or": "red or blue" is one choice
    between: list[str] = []
    for it in items:
        if it[0] == "stop":
            between.append(fold(it[-1]))
            continue
        joined.append(all(w in _CONJUNCTIONS for w in between))
        either.append(any(w in ("or", "hoac", "hay") for w in between))
        content.append(it)
        between = []
    coloured: set[int] = set()  # garments that already have a colour
    garment = False
    k = 0
    while k < len(content):
        kind = content[k][0]
        if kind == "color":
            end = k
            while end + 1 < len(content) and content[end + 1][0] == "color" and joined[end + 1]:
                end += 1
            run: list[tuple[str, ...]] = []
            for j in range(k, end + 1):
                names = tuple(COLOR_ALIASES.get(n, n) for n in content[j][1:-1])
                if run and either[j]:
                    run[-1] = tuple(dict.fromkeys(run[-1] + names))
                else:
                    run.append(names)
            before = k - 1 if k > 0 and content[k - 1][0] == "garment" and k - 1 not in coloured else None
            after = end + 1 if end + 1 < len(content) and content[end + 1][0] == "garment" else None
            target = before if before is not None else after
            if target is None:
                query.colors.extend(run)
            else:
                coloured.add(target)
                getattr(query, content[target][1]).extend(run)
            k = end + 1
            continue
        it = content[k]
        ridden = next((j for j in range(k + 1, len(content)) if content[j][0] != "color"), None) if kind == "ride" else None
        if ridden is not None and content[ridden][0] == "class" and set(content[ridden][1]) <= {"motorcycle", "bicycle"}:
            content[ridden] = ("rider",) + content[ridden][1:]  # "riding a (red) motorbike": a motorbike rider
        elif kind == "class":
            for c in it[1]:
                if c not in query.classes:
                    query.classes += (c,)
            query.nouns.append(it[2])
        elif kind == "rider":
            query.riding += tuple(c for c in it[1] if c not in query.riding)
            query.nouns.append(it[2])
        elif kind == "garment":
            garment = True
        elif kind in ("unknown", "ride"):
            if k > 0 and content[k - 1][0] in ("unknown", "ride") and query.ignored:
                query.ignored[-1] += " " + it[-1]
            else:
                query.ignored.append(it[-1])
        k += 1
    if garment and not query.classes and not query.riding:
        query.classes = ("person",)  # a garment alone means a person (a rider's garment: the rider)
    if garment and not query.riding and query.classes and set(query.classes) <= {"motorcycle", "bicycle"}:
        query.riding = query.classes  # "xe máy mũ đỏ", "red helmet motorbike": the clothes are its rider's
    if query.riding:
        # The ridden vehicles, and people if a person word was typed ("woman riding a motorbike");
        # other vehicle words give way to the ridden ones.
        query.classes = tuple(dict.fromkeys((*query.riding, *(c for c in query.classes if c not in VEHICLES))))
    elif query.clothing and query.colors and query.classes == ("person",):
        # "man in white" with a garment elsewhere: a bare colour on a person describes clothing
        query.upper.extend(query.colors)
        query.colors = []


def parse_query(text: str, cameras=None, now: datetime | None = None, tz: str = DEFAULT_TZ) -> Query:
    """Parse a description; `cameras` (forensic.cameras.Cameras) resolves place names, `now` anchors
    relative times ("last night")."""
    query = Query(text=text)
    raw = unicodedata.normalize("NFC", text)
    plates = find_plates(fold_chars(raw.lower()))  # first: "123.45" or "20" in a plate is not a time
    query.plates = [p for p, _ in plates]
    raw = _cut(raw, [span for _, span in plates])
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
        meaning, width = None, 1
        for n in range(min(_MAX_WORDS, len(words) - i), 0, -1):  # the longest known phrase wins
            if n == 1 and (words[i][0] in _ACCENTED or words[i][0].lower() in _ACCENTED):
                meaning = _ACCENTED.get(words[i][0]) or _ACCENTED[words[i][0].lower()]
                break
            meaning = _VOCAB.get(" ".join(w for _, w in words[i : i + n]))
            if meaning:
                width = n
                break
        raw = " ".join(w for w, _ in words[i : i + width])
        items.append((meaning or ("unknown",)) + (raw,))
        i += width
    _understand(query, items)
    assert all(n in PALETTE for _, c in query.wanted() for n in c)
    return query
