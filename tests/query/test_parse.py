"""Typed descriptions in English and Vietnamese, with and without diacritics, become a Query."""

from __future__ import annotations

import unicodedata

import pytest

from forensic.errors import ForensicError
from forensic.query import fold, parse_query

# text -> (classes, whole-object colours, upper-body colours, lower-body colours)
CASES = {
    "red motorbike": (("motorcycle",), [("red",)], [], []),
    "xe máy màu đỏ": (("motorcycle",), [("red",)], [], []),
    "xe may mau do": (("motorcycle",), [("red",)], [], []),
    "xe may do": (("motorcycle",), [("red",)], [], []),
    "XE MÁY ĐỎ": (("motorcycle",), [("red",)], [], []),
    "white car": (("car",), [("white",)], [], []),
    "ô tô trắng": (("car",), [("white",)], [], []),
    "o to trang": (("car",), [("white",)], [], []),
    "silver taxi": (("car",), [("grey",)], [], []),
    "gray car": (("car",), [("grey",)], [], []),
    "ô tô màu bạc": (("car",), [("grey",)], [], []),
    "xe tải": (("truck",), [], [], []),
    "xe tai": (("truck",), [], [], []),
    "xe buýt": (("bus",), [], [], []),
    "xe buyt": (("bus",), [], [], []),
    "xe đạp": (("bicycle",), [], [], []),
    "xe dap": (("bicycle",), [], [], []),
    "blue bus": (("bus",), [("blue",)], [], []),
    "người mặc áo trắng": (("person",), [], [("white",)], []),
    "nguoi mac ao trang": (("person",), [], [("white",)], []),
    "man in white shirt": (("person",), [], [("white",)], []),
    "người mặc áo trắng quần đen": (("person",), [], [("white",)], [("black",)]),
    "man in white shirt and black pants": (("person",), [], [("white",)], [("black",)]),
    "woman in red top and blue jeans": (("person",), [], [("red",)], [("blue",)]),
    "áo đỏ": (("person",), [], [("red",)], []),  # a garment alone means a person
    "xe xanh": (("bicycle", "car", "motorcycle", "bus", "truck"), [("blue", "green")], [], []),  # 'xanh': blue or green
    "xanh lá": ((), [("green",)], [], []),
    # 'mặc' (wear) never swallows the garment 'áo': a colour after 'áo' is the top's colour
    "phụ nữ mặc áo đỏ": (("person",), [], [("red",)], []),
    "phu nu mac ao do": (("person",), [], [("red",)], []),
    "woman in a red top": (("person",), [], [("red",)], []),
    "người đàn ông mặc áo trắng": (("person",), [], [("white",)], []),
    # two-word garments: 'áo khoác' (jacket), 'áo sơ mi' (shirt), 'quần jean'
    "phụ nữ mặc áo khoác đen": (("person",), [], [("black",)], []),
    "phu nu mac ao khoac den": (("person",), [], [("black",)], []),
    "woman in a black coat": (("person",), [], [("black",)], []),
    "người đàn ông mặc áo sơ mi trắng": (("person",), [], [("white",)], []),
    "nguoi dan ong mac ao so mi trang": (("person",), [], [("white",)], []),
    "áo khoác đỏ quần jean xanh": (("person",), [], [("red",)], [("blue", "green")]),
    # colours joined by 'and'/'và' all belong to the garment; 'or'/'hoặc' is one choice
    "người đàn ông mặc áo khoác đỏ và xanh than": (("person",), [], [("red",), ("blue",)], []),
    "nguoi dan ong mac ao khoac do va xanh than": (("person",), [], [("red",), ("blue",)], []),
    "man in a red and navy jacket": (("person",), [], [("red",), ("blue",)], []),
    "red or blue jacket": (("person",), [], [("red", "blue")], []),
    "áo đỏ hoặc đen": (("person",), [], [("red", "black")], []),
    "man in white with black pants": (("person",), [], [("white",)], [("black",)]),
    "xe tím than": (("bicycle", "car", "motorcycle", "bus", "truck"), [("blue",)], [], []),  # navy, not purple
}


@pytest.mark.parametrize("text", list(CASES))
def test_parse_table(text):
    classes, colors, upper, lower = CASES[text]
    q = parse_query(text)
    assert (q.classes, q.colors, q.upper, q.lower) == (classes, colors, upper, lower)
    assert q.ignored == []
    assert q.understood


@pytest.mark.parametrize("english, vietnamese", [
    ("woman in a red top", "phụ nữ mặc áo đỏ"),
    ("woman in a black coat", "phụ nữ mặc áo khoác đen"),
    ("man in a red and navy jacket", "người đàn ông mặc áo khoác đỏ và xanh than"),
    ("man in a white shirt", "người đàn ông mặc áo sơ mi trắng"),
    ("motorbike rider in a red jacket", "người đi xe máy mặc áo khoác đỏ"),
    ("motorbike rider in a red jacket", "nguoi di xe may mac ao khoac do"),
    ("cyclist", "người đi xe đạp"),
    ("cyclist", "nguoi di xe dap"),
    ("woman riding a motorbike in a red top", "phụ nữ đi xe máy mặc áo đỏ"),
    ("red motorbike", "xe máy màu đỏ"),
    ("red motorbike", "xe may do"),
    ("white car", "ô tô trắng"),
    ("man in white shirt", "người mặc áo trắng"),
    ("man in white shirt and black pants", "người mặc áo trắng quần đen"),
])
def test_both_languages_mean_the_same(english, vietnamese):
    a, b = parse_query(english), parse_query(vietnamese)
    assert (a.classes, a.colors, a.upper, a.lower, a.riding) == (b.classes, b.colors, b.upper, b.lower, b.riding)
    assert a.ignored == b.ignored == []


# Riders: the query names the ridden vehicle (classes) and says a person riding it answers too
# (riding); text -> (classes, riding, whole colours, upper colours, ignored)
RIDERS = {
    "motorbike rider in a red jacket": (("motorcycle",), ("motorcycle",), [], [("red",)], []),
    "người đi xe máy mặc áo khoác đỏ": (("motorcycle",), ("motorcycle",), [], [("red",)], []),
    "nguoi di xe may mac ao khoac do": (("motorcycle",), ("motorcycle",), [], [("red",)], []),
    "xe ôm áo xanh": (("motorcycle",), ("motorcycle",), [], [("blue", "green")], []),
    "motorbike rider with a red box": (("motorcycle",), ("motorcycle",), [("red",)], [], ["box"]),
    "người đi xe máy chở thùng đỏ": (("motorcycle",), ("motorcycle",), [("red",)], [], ["chở thùng"]),
    "cyclist": (("bicycle",), ("bicycle",), [], [], []),
    "người đi xe đạp": (("bicycle",), ("bicycle",), [], [], []),
    "nguoi di xe dap": (("bicycle",), ("bicycle",), [], [], []),
    "man riding a red motorbike": (("motorcycle", "person"), ("motorcycle",), [("red",)], [], []),
    "phụ nữ đi xe máy mặc áo đỏ": (("motorcycle", "person"), ("motorcycle",), [], [("red",)], []),
    "rider in a white shirt": (("motorcycle", "bicycle"), ("motorcycle", "bicycle"), [], [("white",)], []),
    "woman riding": (("person",), (), [], [], ["riding"]),  # nothing ridden: 'riding' is not understood
}


@pytest.mark.parametrize("text", list(RIDERS))
def test_riders(text):
    q = parse_query(text)
    assert (q.classes, q.riding, q.colors, q.upper, q.ignored) == RIDERS[text]


def test_rider_describe_and_caption():
    q = parse_query("người đi xe máy mặc áo khoác đỏ")
    assert q.describe() == {"class": ["motorcycle"], "riding": ["motorcycle"], "upper body": ["red"]}
    assert q.caption() == "a photo of a motorbike rider wearing a red top"
    assert parse_query("man riding a red motorbike").caption() == "a photo of a man riding a red motorbike"


def test_decomposed_unicode_is_read_like_composed():
    """Text pasted from some keyboards arrives in NFD (base letter + combining marks)."""
    nfd = unicodedata.normalize("NFD", "người mặc áo trắng quần đen")
    assert nfd != "người mặc áo trắng quần đen"
    q = parse_query(nfd)
    assert (q.classes, q.upper, q.lower, q.ignored) == (("person",), [("white",)], [("black",)], [])


@pytest.mark.parametrize("text, colors", [
    ("tìm xe máy", []),  # tìm = find
    ("Tìm xe máy", []),
    ("tím xe máy", [("purple",)]),  # tím = purple
    ("xe máy tím", [("purple",)]),
    ("xe máy màu tím", [("purple",)]),
])
def test_tim_find_is_not_tim_purple(text, colors):
    q = parse_query(text)
    assert q.classes == ("motorcycle",) and q.colors == colors and q.ignored == []


@pytest.mark.parametrize("text, ignored", [
    ("red motorbike with delivery box", ["delivery box"]),
    ("xe máy đỏ chở thùng hàng", ["chở thùng hàng"]),
    ("người mặc áo trắng quần đen đeo kính", ["kính"]),
    ("zebra", ["zebra"]),
])
def test_words_not_understood_are_reported_as_typed(text, ignored):
    assert parse_query(text).ignored == ignored


def test_nothing_understood():
    q = parse_query("zebra crossing")
    assert not q.understood and q.ignored == ["zebra crossing"]
    assert q.describe()["ignored"] == ["zebra crossing"]


def test_an_unknown_place_is_never_dropped_silently():
    """'near Tân Phú crossroads' names no known camera: the user must hear about it, either as
    ignored words or as an error that names the place; the rest of the query stays understood."""
    text = "red motorbike near Tân Phú crossroads"
    try:
        q = parse_query(text)
    except ForensicError as e:
        assert "Tân Phú" in str(e)
    else:
        assert (q.classes, q.colors) == (("motorcycle",), [("red",)])
        assert any("Tân Phú crossroads" in words for words in q.ignored), q.ignored


def test_describe_and_caption():
    q = parse_query("người mặc áo trắng quần đen")
    assert q.describe() == {"class": ["person"], "upper body": ["white"], "lower body": ["black"]}
    assert q.caption() == "a photo of a person wearing a white top and black trousers"
    assert parse_query("xe máy màu đỏ").caption() == "a photo of a red motorbike"
    assert parse_query("silver taxi").caption() == "a photo of a grey taxi"


@pytest.mark.parametrize("text, folded", [("Xe Máy Đỏ", "xe may do"), ("ĐÈN đường", "den duong"), ("tím", "tim"), ("abc", "abc")])
def test_fold(text, folded):
    assert fold(text) == folded


def test_empty_query_understands_nothing():
    q = parse_query("   ")
    assert not q.understood and q.ignored == []


@pytest.mark.parametrize("text, expected", [
    ("áo hồng", {"class": ["person"], "upper body": ["pink"]}),
    ("pink top", {"class": ["person"], "upper body": ["pink"]}),
    ("áo tím", {"class": ["person"], "upper body": ["purple"]}),
    ("ô tô bạc", {"class": ["car"], "colour": ["grey"]}),
    ("người mặc áo be", {"class": ["person"], "upper body": ["brown"]}),
    ("quần xanh than", {"class": ["person"], "lower body": ["blue"]}),
    ("áo xanh", {"class": ["person"], "upper body": ["blue/green"]}),
    ("taxi Mai Linh", {"class": ["car"], "colour": ["green"]}),
    ("taxi xanh sm", {"class": ["car"], "colour": ["blue/green"]}),
    ("taxi Vinasun", {"class": ["car"], "colour": ["white"]}),
    ("tài xế Be", {"class": ["person"], "colour": ["yellow"]}),  # the Be livery; 'be' in lower case is beige
    ("xe máy mũ bảo hiểm đỏ", {"class": ["motorcycle"], "riding": ["motorcycle"], "head": ["red"]}),
    ("motorbike rider in a red jacket and blue helmet",
     {"class": ["motorcycle"], "riding": ["motorcycle"], "upper body": ["red"], "head": ["blue"]}),
    ("xe may tan phu", {"class": ["motorcycle"], "ignored": ["tan phu"]}),  # 'tan' is no colour: Tân Phú without diacritics
    # words that fold to a colour without their diacritics are not colours
    ("người cầm dao", {"class": ["person"], "ignored": ["cầm dao"]}),
    ("xe máy lúc 8 giờ", {"class": ["motorcycle"], "ignored": ["lúc 8 giờ"]}),
    ("bé gái mặc áo đỏ", {"class": ["person"], "upper body": ["red"], "ignored": ["gái"]}),
    ("man who may be wearing red", {"class": ["person"], "colour": ["red"]}),
    ("xe bò", {"class": ["bicycle", "car", "motorcycle", "bus", "truck"], "ignored": ["bò"]}),
    # 'đến' (to, until) folds to 'den' (black): outside a time phrase it is no colour (issue 11)
    ("người đi xe máy đến chợ", {"class": ["motorcycle"], "riding": ["motorcycle"], "ignored": ["chợ"]}),
    ("xe máy đen đến 22h", {"class": ["motorcycle"], "colour": ["black"], "ignored": ["22h"]}),
])
def test_a_witness_colour_words(text, expected):
    assert parse_query(text).describe() == expected
