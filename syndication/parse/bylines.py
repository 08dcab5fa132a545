"""Bylines written into Chinese article pages: 来源, 作者, 记者, 文/..., 责任编辑, and rights notices.

    find_source("来源：检察日报 作者：张三")        -> "检察日报"
    find_author("（记者戴小巍 通讯员阮彬）")         -> "戴小巍 阮彬"
    find_editor("（责任编辑：李四）")                -> "李四"
    find_rights_notice("... 未经授权，禁止转载 ...") -> "未经授权，禁止转载"

Every function takes plain text (one or more lines) and returns None when nothing credible is found.
Names are cut at whitespace, the next label, or punctuation, and must be 2-30 characters long.
"""

from __future__ import annotations

import itertools
import re

__all__ = [
    "clean_name", "english_name", "find_author", "find_editor", "find_rights_notice", "find_source", "plain_author", "strip_label",
]  # fmt: skip

_TITLE_SEPARATORS = re.compile(r"\s*(?:_|\||｜|--|—|－|\s-\s)\s*")

# A value after a label ends at whitespace, brackets, separators or sentence punctuation.
_VALUE = r"([^\s|｜,，。;；:：<>《》【】\[\]()（）]{2,30})"
_COLON = r"[ \t\u3000\xa0]*[：:][ \t\u3000\xa0]*"  # a label's value is on its own line
_SOURCE_RE = re.compile(r"(?:来源于|来源|稿源|信息来源|文章来源|出处|来自)" + _COLON + _VALUE)
# The next label, where inline spans run a value into it (来源：证券时报网</span><span>作者：...).
_NEXT_LABEL = re.compile(
    r"(?:作者|责任编辑|责编|编辑|记者|通讯员|时间|发布时间|发布日期|日期|浏览|点击|阅读|字号)[：:]?"
)
_SOURCE_SUFFIX = re.compile(r"\s+(?:原创稿|原创|转载|供稿)$")
_AUTHOR_RE = re.compile(r"(?<![责任编审校])(?:作者|撰文|撰稿|文字|记者|撰稿人)" + _COLON + _VALUE)
_SLASH_RE = re.compile(r"(?:^|[\s（(【\[])(?:文|撰文|作者)\s*[/／|｜]\s*" + _VALUE)
# 责任编辑：X, 责编|X (WeChat-style credits), 编辑/X; a Latin name may hold spaces (责编：Demi Xia).
_EDITOR_VALUE = r"([A-Za-z][A-Za-z.'-]*(?: [A-Z][A-Za-z.'-]*){0,3}(?![A-Za-z\d])|" + _VALUE[1:]
_EDITOR_SEP = r"[ \t\u3000\xa0]*[：:|｜/／][ \t\u3000\xa0]*"
_EDITOR_RE = re.compile(r"(?<![a-zA-Z])(?:责任编辑|责编|编辑|值班编辑)" + _EDITOR_SEP + _EDITOR_VALUE)
_RESPONSIBLE_RE = re.compile(r"(?:责任编辑|责编)" + _EDITOR_SEP + _EDITOR_VALUE)
_STAFF_CODE = re.compile(r"[_＿][A-Za-z]{1,8}\d{2,}$")
_CODE_ONLY = re.compile(r"[A-Za-z]{1,8}\d{2,}")
# (记者戴小巍 通讯员阮彬), （本报记者 张三）, 新华社北京12月1日电（记者李四、王五）
_REPORTERS_RE = re.compile(
    r"[（(]\s*((?:[^（()）]{0,12}?)(?:记者|通讯员|特约记者|实习生|见习记者)[^（()）]{1,60}?)\s*[)）]"
)
_ROLE_RE = re.compile(r"(?:本报|本台|本刊|新华社|中新社|特约|见习|实习)?(?:记者|通讯员|实习生|摄影|摄|报道)")
_NAME_RE = re.compile(r"[\u4e00-\u9fff·]{2,6}|[A-Za-z][A-Za-z .'-]{1,40}")
_PLACEHOLDERS = {
    "未知", "佚名", "匿名", "admin", "administrator", "管理员", "系统管理员", "超级管理员", "本站", "网络",
    "网络整理", "综合整理", "本站整理", "none", "null", "unknown",
}  # fmt: skip

_RIGHTS_RES = (
    re.compile(
        r"[^。\n]{0,60}未经[^。\n]{0,20}(?:授权|许可|同意|允许)[^。\n]{0,40}?(?:转载|复制|使用|转帖|镜像)[^。\n]{0,30}"
    ),
    re.compile(
        r"[^。\n]{0,30}版权所有[^。\n]{0,80}?(?:不得|禁止|严禁|谢绝)[^。\n]{0,10}(?:转载|复制|使用)[^。\n]{0,30}"
    ),
    re.compile(r"[^。\n]{0,40}(?:禁止|严禁|不得|谢绝)(?:任何[^。\n]{0,10})?转载[^。\n]{0,30}"),
)
_RIGHTS_ANCHOR = re.compile(r"未经|版权所有|禁止|严禁|不得|谢绝")
_TRIM = " \t　|｜-—·⋅:：,，;；"


def clean_name(value: str | None) -> str | None:
    """A name field with whitespace collapsed; None for empty values and placeholders such as 未知."""
    if value is None:
        return None
    value = re.sub(r"\s+", " ", value).strip(_TRIM)
    if not value or value.lower() in _PLACEHOLDERS or len(value) > 120:
        return None
    return value


def find_source(text: str) -> str | None:
    """The original publisher from a ``来源：...`` line."""
    for m in _SOURCE_RE.finditer(text):
        value = clean_name(_SOURCE_SUFFIX.sub("", _NEXT_LABEL.split(m.group(1), maxsplit=1)[0]))
        if value and not value.startswith(("http", "www")):
            return value
    return None


def find_editor(text: str, *, responsible_only: bool = False) -> str | None:
    """The responsible editor from ``责任编辑：...`` / ``责编|...`` (else ``编辑：`` unless
    ``responsible_only``), kept apart from the author; a CMS staff code after the name
    (``史建磊_NBJ11331``) is dropped, and a code alone (``HN666``) is no one."""
    m = _RESPONSIBLE_RE.search(text) or (None if responsible_only else _EDITOR_RE.search(text))
    if not m:
        return None
    name = _STAFF_CODE.sub("", m.group(1))
    if _CODE_ONLY.fullmatch(name):
        return None  # a staff code alone (HN666) names no one
    return clean_name(_names(name))


def find_author(text: str) -> str | None:
    """The author: ``作者：X``, ``记者：X``, ``文/X``, or the reporters of ``（记者X 通讯员Y）`` as ``"X Y"``."""
    for regex in (_AUTHOR_RE, _SLASH_RE):
        m = regex.search(text)
        if m:
            value = clean_name(m.group(1))
            if value and all(_CJK_NAME.fullmatch(part) for part in value.split("、")):
                return " ".join([_names(value), *_more_names(text[m.end() :])])
            if value:
                return value
    m = _REPORTERS_RE.search(text)
    if m:
        names = _reporter_names(m.group(1))
        if names:
            return " ".join(names)
    for regex in (_TEXT_PHOTO_RE, _ROLE_LINE_RE):
        m = regex.search(text)
        if m:
            return " ".join(re.split(r"[\s、]+", m.group(1).strip()))
    return None


def find_closing_author(tail: str) -> str | None:
    """The reporter named in brackets at the very end of a news text: ``…在阿根廷举行。（张巨峰）``."""
    m = _CLOSING_NAMES_RE.search(tail)
    if not m or _ORG_END.search(m.group(1)):
        return None
    names = [_ROLE_RE.sub("", n) for n in re.split(r"[\s、]+", m.group(1).strip())]
    return " ".join(n for n in names if len(n) >= 2) or None


_NAMES = r"([\u4e00-\u9fff·]{2,4}(?:[ \t\u3000\xa0、]+[\u4e00-\u9fff·]{2,4}){0,3})"
# (文/图 刘玺东 易赛楠), 图/文：X
_TEXT_PHOTO_RE = re.compile(
    r"(?<![\u4e00-\u9fff])(?:文\s*[/／]\s*图|图\s*[/／]\s*文|文图)[ \t\u3000\xa0：:]*"
    + _NAMES
    + r"(?![\u4e00-\u9fff])"
)
# a line of its own: 澎湃新闻记者 贺梨萍 / 《棱镜》作者 周纯
_ROLE_LINE_RE = re.compile(
    r"(?m)^[^\n]{0,10}?(?:记者|作者|通讯员)[ \t\u3000\xa0]+" + _NAMES + r"[ \t\u3000\xa0]*$"
)
_CLOSING_NAMES_RE = re.compile(r"[（(]" + _NAMES + r"[)）]\s*$")
# (新华社) (完) (人民网): a publisher or a mark, not a person
_ORG_END = re.compile(
    r"(?:社|网|报|台|站|局|部|厅|委|办|处|院|会|中心|公司|集团|频道|新闻|闻|完|续|稿|讯|图|摄|供图|生成|整理|编译|综合)$"
)


_CJK_NAME = re.compile(r"[\u4e00-\u9fff·]{2,4}")
_ROLES = {"记者", "实习生", "通讯员", "见习记者", "特约记者", "摄影", "摄影记者"}
_DATELINE_END = re.compile(r"(?:报道|摄|讯|电)$")
_NEXT_NAME = re.compile(r"[ \t\u3000\xa0、,，]+([^\s、,，:：]+)(?![:：])")
_NOT_NAMES = {"浏览", "点击", "阅读", "发布", "时间", "日期", "字号", "分享", "打印", "关闭", "责任", "来源", "编辑", "审核", "校对", "摄影", "本站", "原创"}  # fmt: skip


def _names(value: str) -> str:
    """``汤诗瑶、丁涛`` -> ``汤诗瑶 丁涛``: names joined by spaces, as everywhere else."""
    parts = value.split("、")
    return " ".join(parts) if all(_CJK_NAME.fullmatch(p) for p in parts) else value


def _more_names(rest: str) -> list[str]:
    """Further names on an ``作者：`` line: ``作者：余毅菁 向雪妮`` -> ``["向雪妮"]``; stops at anything
    that is not a 2-4 character name, at a label (``来源：``) and at the end of the line."""
    names: list[str] = []
    line = rest.split("\n", 1)[0]
    at = 0
    while m := _NEXT_NAME.match(line, at):
        token = m.group(1)
        at = m.end()
        if token in _ROLES:
            continue  # 记者：张三 实习生 李四
        if not _CJK_NAME.fullmatch(token) or token[:2] in _NOT_NAMES or _DATELINE_END.search(token):
            break  # 北京报道, 新华社电: the dateline, not a name
        names.append(token)
    return names


def _reporter_names(inner: str) -> list[str]:
    """The names in ``记者戴小巍 通讯员阮彬`` / ``本报记者 张三、李四``: roles and places dropped."""
    inner = re.sub(
        r"^.*?(?=(?:本报|本台|新华社|中新社|特约|见习|实习)?(?:记者|通讯员|实习生))", "", inner, count=1
    )
    names: list[str] = []
    for part in re.split(r"[\s、,，/／;；]+", inner):
        part = _ROLE_RE.sub("", part).strip()
        if not part or part in ("整合", "报道", "综合", "编译"):
            continue
        m = _NAME_RE.fullmatch(part)
        if m and part not in names:
            names.append(part)
    return names


def find_rights_notice(text: str) -> str | None:
    """The page's reprint restriction (``未经授权，禁止转载``, ``版权所有 … 不得转载``), as written."""
    # Every notice has one of these words: the patterns (slow where they fail, as they start with a
    # run of any characters) are tried only in a window around each, the first 200 of them.
    anchors = [m.start() for m in itertools.islice(_RIGHTS_ANCHOR.finditer(text), 200)]
    for regex in _RIGHTS_RES:
        for at in anchors:
            m = regex.search(text, max(0, at - 80), at + 200)
            if m:
                notice = re.sub(r"\s+", " ", m.group(0)).strip(_TRIM + "【】[]")
                if notice:
                    return notice[:300]
    return None


def strip_label(value: str | None) -> str | None:
    """A meta source without its label and a trailing kind (``来源：人民网-文化频道 原创稿``)."""
    return _SOURCE_SUFFIX.sub("", re.sub(r"^(?:来源|稿源)\s*[：:]\s*", "", value)) if value else None


# A user handle, not a name: one lower-case word (devindra), or letters and digits (CC7567).
_HANDLE = re.compile(r"[a-z][a-z0-9_.-]*|[A-Za-z_.-]*\d[A-Za-z0-9_.-]*")


def plain_author(value: str | None, page_title: str, site_name: str | None, source: str | None) -> str | None:
    """A meta author that names a person: not a URL, an e-mail template, a number, a user handle, the
    site or 来源."""
    if (
        not value
        or value == source
        or value.startswith(("http://", "https://", "/"))
        or "@" in value
        or value.isdigit()
        or _HANDLE.fullmatch(value)
    ):
        return None
    value = re.sub(r"^by\s+", "", value, flags=re.I)
    site = (site_name or "") + " " + (_TITLE_SEPARATORS.split(page_title)[-1] if page_title else "")
    if value in site:
        return None
    return value


_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon|tue|wed|thu|fri|sat|sun|updated|published|posted|on"
)
_BYLINE_STOP = re.compile(
    r"\s+(?:and|&)\s+|\s*[|,;/\n\u2014\u2013]\s*|\s+-\s+|\s+(?:" + _MONTHS + r")\b|\d", re.I
)
_ENGLISH_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:(?:de|van|von|der|da|di|le|la)\s+)?[A-Z][\w'’.-]*){1,3}")


def english_name(text: str | None) -> str | None:
    """The person in an English byline: ``By Jane Doe | May 1, 2020`` -> ``"Jane Doe"``; None for URLs,
    text that is not 2-4 capitalised words, or no name at all."""
    if not text:
        return None
    text = " ".join(text.split())
    if re.search(r"https?://|www\.|@", text):
        return None
    text = re.sub(r"^(?:(?:written|posted|words|story)\s+)?by\s*:?\s*", "", text, flags=re.I)
    name = _BYLINE_STOP.split(text, maxsplit=1)[0].strip(" .:")
    if not _ENGLISH_NAME.fullmatch(name) or len(name) > 60 or max(len(w) for w in name.split()) < 3:
        return None
    return name
