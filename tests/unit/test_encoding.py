"""fetch.encoding over real bytes: the chardet Chinese corpus, mislabelled gne pages, miniflux/huginn cases."""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from syndication.errors import ParseError
from syndication.fetch.encoding import (
    decode_bytes,
    normalize_encoding_name,
    to_utf8_xml,
    xml_declared_encoding,
)

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
LEGACY = CORPUS / "feeds" / "chinese-legacy-encodings"
MINIFLUX = CORPUS / "feeds" / "real" / "miniflux" / "internal" / "reader"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared/corpus is not beside the repo")

# Folder -> (codecs accepted as that family, reference codec for the exact-text check).
FAMILIES = {"GB2312": ({"gb18030"}, "gb18030"), "Big5": ({"cp950", "big5hkscs"}, "cp950")}
_CJK_OR_PUNCT = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\u2010-\u2027]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ENCODING_DECL = re.compile(rb"""(<\?xml[^>]*?)\s+encoding\s*=\s*["'][^"']*["']""")


def legacy_files() -> list[Path]:
    if not LEGACY.is_dir():
        return []
    return sorted(p for folder in FAMILIES for p in (LEGACY / folder).iterdir() if p.is_file())


def cjk_share(text: str) -> float:
    non_ascii = _NON_ASCII.findall(text)
    return len(_CJK_OR_PUNCT.findall(text)) / len(non_ascii) if non_ascii else 0.0


@pytest.mark.parametrize("path", legacy_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_legacy_chinese_decodes_as_its_family(path: Path) -> None:
    accepted, reference = FAMILIES[path.parent.name]
    content = path.read_bytes()
    text, used = decode_bytes(content)
    assert used in accepted
    assert "\ufffd" not in text
    assert cjk_share(text) > 0.9
    assert text == content.decode(reference)


@pytest.mark.parametrize("path", legacy_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_legacy_chinese_without_declaration_is_detected_from_the_bytes(path: Path) -> None:
    accepted, reference = FAMILIES[path.parent.name]
    content = _ENCODING_DECL.sub(rb"\1", path.read_bytes(), count=1)
    assert xml_declared_encoding(content) is None
    text, used = decode_bytes(content)
    assert used in accepted
    assert text == content.decode(reference)


@pytest.mark.parametrize("name", ["ytc.blogspot.com.xml", "upsaid.com.xml", "ebao.us.xml"])
def test_big5_bytes_labelled_gb2312_are_read_as_big5(name: str) -> None:
    # GB18030 decodes Big5 bytes without error, so only plausibility can catch this lie.
    content = (LEGACY / "Big5" / name).read_bytes()
    relabelled = re.sub(rb'encoding="[^"]*"', b'encoding="gb2312"', content, count=1)
    text, used = decode_bytes(relabelled, content_type="text/xml; charset=gb2312")
    assert used == "cp950"
    assert text == relabelled.decode("cp950")


def test_gb_bytes_with_a_lying_big5_header_fall_back_to_the_xml_declaration() -> None:
    content = (LEGACY / "GB2312" / "cindychen.com.xml").read_bytes()
    text, used = decode_bytes(content, content_type="application/rss+xml; charset=big5")
    assert used == "gb18030"
    assert text == content.decode("gb18030")


@pytest.mark.parametrize(
    ("page", "title"),
    [
        ("people/1.html", "女儿出嫁，郑板桥画了几笔兰花当嫁妆"),
        ("qq/2.html", "爬虫与现金贷共生共荣"),
        ("163/9.html", "京沪高速无锡至江阴大桥"),
    ],
)
def test_pages_declaring_gb2312_whose_bytes_are_utf8_decode_as_utf8(page: str, title: str) -> None:
    content = (CORPUS / "pages" / "gne" / "tests" / page).read_bytes()
    text, used = decode_bytes(content, content_type="text/html; charset=gb2312")
    assert used == "utf-8"
    assert title in text
    assert "\ufffd" not in text


@pytest.mark.parametrize(
    ("relpath", "codec", "expected"),
    [
        ("parser/testdata/encoding_WINDOWS-1251.xml", "cp1251", "Цитата #17703"),
        ("parser/testdata/encoding_ISO-8859-1.xml", "cp1252", "Porträt für"),
        ("parser/testdata/no_encoding_ISO-8859-1.xml", "cp1252", "La criminalité liée"),
        ("encoding/testdata/koi8r.xml", "koi8-r", "Пример RSS ленты"),
        ("encoding/testdata/windows-1252.xml", "cp1252", "Euro €"),
        ("encoding/testdata/windows-1252-incorrect-prolog.xml", "utf-8", "Euro €"),
        ("encoding/testdata/utf8-incorrect-prolog.xml", "utf-8", "Café"),
        ("encoding/testdata/invalid-prolog.xml", "utf-8", "테스트 피드"),
        ("encoding/testdata/iso-8859-1-meta-after-1024.html", "cp1252", "Frédéric"),
        ("encoding/testdata/utf8-meta-after-1024.html", "utf-8", "Frédéric"),
        ("xml/testdata/iso88591_utf8_mismatch.xml", "cp1252", "Anaïs"),
    ],
)
def test_miniflux_encoding_cases(relpath: str, codec: str, expected: str) -> None:
    text, used = decode_bytes((MINIFLUX / relpath).read_bytes())
    assert used == codec
    assert expected in text


def test_huginn_iso_8859_1_feed() -> None:
    content = (
        CORPUS / "feeds" / "real" / "huginn" / "spec" / "data_fixtures" / "iso-8859-1.rss"
    ).read_bytes()
    text, used = decode_bytes(content)
    assert used == "cp1252"
    assert "Mëkanïk Zaïn" in text


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("x-gbk", "gb18030"),
        ("cp936", "gb18030"),
        ("GB_2312-80", "gb18030"),
        ("gb18030", "gb18030"),
        ("Big5", "cp950"),
        ("cn-big5", "cp950"),
        ("big5-hkscs", "big5hkscs"),
        ("UTF8", "utf-8"),
        (" 'utf-8' ", "utf-8"),
        ("ISO-8859-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("windows-1251", "cp1251"),
        ("KOI8-R", "koi8-r"),
        ("euc-kr", "cp949"),
        ("Shift_JIS", "cp932"),
        ("UTF-16", "utf-16"),
    ],
)
def test_normalize_encoding_name(label: str, codec: str) -> None:
    assert normalize_encoding_name(label) == codec


@pytest.mark.parametrize(
    "label", ["", "invalid", "x-user-defined", "base64", "rot13", "utf-7", "unicode_escape"]
)
def test_normalize_encoding_name_rejects_unknown_and_unsafe_labels(label: str) -> None:
    with pytest.raises(LookupError):
        normalize_encoding_name(label)


def test_xml_declared_encoding() -> None:
    assert xml_declared_encoding(b'<?xml version="1.0" encoding="GB2312"?><rss/>') == "gb2312"
    assert xml_declared_encoding(b"<?xml version='1.0' encoding='big5' standalone='yes'?>") == "big5"
    assert xml_declared_encoding(b'<?xml version="1.0"?><rss/>') is None
    assert xml_declared_encoding(b"<rss/>") is None
    assert xml_declared_encoding(b'<rss><x encoding="gb2312"/></rss>') is None
    utf16 = codecs.BOM_UTF16_LE + '<?xml version="1.0" encoding="utf-16"?><rss/>'.encode("utf-16-le")
    assert xml_declared_encoding(utf16) == "utf-16"


def test_byte_order_marks_win() -> None:
    doc = '<?xml version="1.0" encoding="gb2312"?><t>中文</t>'
    assert decode_bytes(codecs.BOM_UTF8 + doc.encode("utf-8")) == (doc, "utf-8")
    assert decode_bytes(codecs.BOM_UTF16_LE + doc.encode("utf-16-le")) == (doc, "utf-16-le")
    assert decode_bytes(codecs.BOM_UTF16_BE + doc.encode("utf-16-be")) == (doc, "utf-16-be")
    assert decode_bytes(doc.encode("utf-16-be")) == (doc, "utf-16-be")  # no BOM: the NUL pattern


def test_ascii_keeps_its_label_and_utf8_beats_labels() -> None:
    assert decode_bytes(b"<rss/>", content_type="text/xml; charset=koi8-r") == ("<rss/>", "koi8-r")
    assert decode_bytes(b"<rss/>") == ("<rss/>", "utf-8")
    text = "<t>新闻发布会</t>"
    assert decode_bytes(text.encode(), content_type="text/xml; charset=ISO-8859-1") == (text, "utf-8")


def test_utf8_with_a_stray_latin1_byte_is_repaired_not_replaced() -> None:
    body = ("国务院新闻办公室举行发布会" * 10).encode() + b" caf\xe9 " + "记者".encode()
    text, used = decode_bytes(body, content_type="text/xml; charset=utf-8")
    assert used == "utf-8"
    assert text.endswith(" café 记者")
    assert "\ufffd" not in text


def test_binary_data_is_a_parse_error() -> None:
    junk = bytes(range(256)) * 8
    with pytest.raises(ParseError, match="cannot decode"):
        decode_bytes(junk)
    with pytest.raises(ParseError, match="binary"):
        decode_bytes(b"\x00\x01\x02\x03PNG\x00\x00" * 50)


def test_to_utf8_xml_rewrites_the_declaration() -> None:
    content = (LEGACY / "GB2312" / "w3cn.org.xml").read_bytes()
    data, source = to_utf8_xml(content)
    assert source == "gb18030"
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8" ?>')
    assert data.decode("utf-8") == content.decode("gb18030").replace(
        'encoding="gb2312"', 'encoding="utf-8"', 1
    )
    root = ET.fromstring(data)  # expat reads it as the declaration now says
    titles = [t.text or "" for t in root.iter("title")]
    assert any(cjk_share(t) > 0.5 for t in titles)


def test_to_utf8_xml_adds_a_missing_encoding_and_ignores_impossible_labels() -> None:
    data, source = to_utf8_xml(b'  <?xml version="1.0"?><t>x</t>', "text/xml; charset=koi8-r")
    assert (data, source) == (b'<?xml version="1.0" encoding="utf-8"?><t>x</t>', "koi8-r")
    assert to_utf8_xml(b"<t>x</t>") == (b"<t>x</t>", "utf-8")
    utf16 = (
        CORPUS / "feeds" / "real" / "fastfeedparser" / "tests" / "integration" / "utf16_encoded.xml"
    ).read_bytes()
    data, source = to_utf8_xml(utf16)  # declares utf-16, but its bytes are ASCII: the label is ignored
    assert source == "utf-8"
    assert b'encoding="utf-8"' in data[:100]
    assert ET.fromstring(data).find("channel") is not None
    real16 = '<?xml version="1.0" encoding="utf-16"?><t>年报</t>'.encode("utf-16")
    assert to_utf8_xml(real16) == ('<?xml version="1.0" encoding="utf-8"?><t>年报</t>'.encode(), "utf-16-le")
