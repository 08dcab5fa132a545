"""Article links and pagination from an official site's list page (a page source's ``url``).

    parse_list_page(html, url=..., selector=None, allow_hosts=(), tz="Asia/Shanghai") -> ListPage
        links            the main list of dated links (found automatically), or exactly the anchors CSS
                         ``selector`` selects; absolute, no fragment, no duplicates, in page order
        attachments      links of that list to binaries (.pdf .doc ...): recorded, never parsed as pages
        skipped_offsite  links of that list to another site (not in ``allow_hosts``), left out
        next_pages       pagination_urls(url, html, depth=MAX_PAGES)
    pagination_urls(url, html, depth=N) -> the further list pages of a source with ``pages = N``
        (at most N - 1 URLs): index.shtml -> index_1.shtml ...; createPageHTML / Pager JS; "下一页"
    walk_list_pages(url, html, fetch, depth=N) -> (url, html) of at most N pages, never one URL twice

Automatic mode: each text node that is mostly a date (2023-12-01, 2023/12/01, 2023年12月1日, [12-01])
makes its enclosing elements with anchors (up to one holding 3 dates: that is the list) candidate list
items; candidates are grouped by their path from the root (tags, and classes above the item's parent),
and the group with the most dated items with real titles and article-like URLs wins (short nav-like
link texts count little). Undated items of the same kind in the same list are kept. With no dated list,
links whose URL looks like an article (``/202312/t20231201_635358.shtml``, ``content_123.htm``,
``art_...html``, ``?id=123``) outside nav bars, headers and footers are taken.

Pure: no I/O. Hostile input (empty, broken, huge) gives an empty or bounded ListPage, never an exception;
only an invalid ``selector`` raises ValueError (a configuration error; see validate_selector).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import TypeAlias
from urllib.parse import urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import lxml.etree as etree
import lxml.html

from syndication.process.normalize import parse_datetime

__all__ = ["MAX_PAGES", "ArticleLink", "ListPage", "pagination_urls", "parse_list_page", "validate_selector"]
__all__ += ["walk_list_pages"]

_BINARY = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|zip|rar|7z|wps|et|dps|ofd|ceb)$", re.I)
MAX_PAGES = 50  # next_pages is capped here; pagination_urls by its depth
MAX_LINKS = 1000  # links and attachments of one list page (a real one has 10-100)
MAX_CHARS = 6_000_000  # the rest of a bigger page is not read
_ITEM_ANCHORS = 30  # an element with more anchors (or 3+ dates) is a container, not one list item
_CLIMB = 5  # levels between a date or an anchor and its list item
_NAV_TITLE = 5  # a link text shorter than this looks like navigation

_FULL_DATE = re.compile(
    r"(?<!\d)(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}(?!\d)\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
)
_SHORT_DATE = re.compile(r"(?<![\d.:])(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?![\d:])\s*日?")
_URL_DATE = re.compile(r"(?<!\d)(20\d{2})[-/_]?(\d{2})(?!\d)")
_ARTICLE_URL = re.compile(
    r"/t20\d{6}_\d+\.\w+$|content_\d+|/art_\d|/20\d{2}-?\d{2}/(?:\d{2}/)?[^/]*\d[^/]*\.\w+$|[^/]*\d{5,}[^/]*$"
    r"|[?&](?:id|aid|tid|docid|newsid|articleid|contentid|infoid|itemid)=\d+",
    re.I,
)
_LIST_URL = re.compile(r"/(?:index|list|default|more)(?:_\d+)?\.\w+$|/$", re.I)
_NAV_WORDS = {"nav", "navbar", "menu", "header", "head", "topbar", "foot", "footer", "crumb", "breadcrumb"}
_NAV_WORDS |= {"copyright", "banner", "sitemap", "position", "location"}
_NEXT_TEXTS = {"下一页", "下页", "后一页", "后页", "next", "next page", "nextpage", "›", "»", ">", ">>"}
_CREATE_PAGE = re.compile(r"createPageHTML\s*\(([^()]{0,300})\)")
_PAGER = re.compile(r"Pager\s*\(\s*\{([^{}]{0,300})\}")
_INDEX_NAME = re.compile(r"^index(?:_(\d+))?\.(s?html?)$")
_TOTAL_PAGES = re.compile(r"共\s*(\d{1,4})\s*页")
_NOT_A_LINK = re.compile(r"#|javascript:|mailto:|tel:|data:", re.I)
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

_El: TypeAlias = etree._Element


@dataclass(frozen=True)
class ArticleLink:
    url: str
    title: str
    date: datetime | None  # the date shown beside the link, in UTC (read in the source's tz)


@dataclass(frozen=True)
class ListPage:
    links: tuple[ArticleLink, ...] = ()
    next_pages: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    skipped_offsite: int = 0


def parse_list_page(
    html: str,
    *,
    url: str,
    selector: str | None = None,
    allow_hosts: Collection[str] = (),
    tz: str = "Asia/Shanghai",
    now: datetime | None = None,
) -> ListPage:
    """The article list of one list page (module docstring). ``now`` places year-less dates (12-01)
    whose year the link's URL does not tell: the latest such day not after now (default: the clock)."""
    xpath = validate_selector(selector) if selector else None
    root = _parse(html)
    if root is None:
        return ListPage()
    next_pages = tuple(_pagination(url, html, root, MAX_PAGES))
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    base = _base_url(root, url)
    anchors = [a for a in root.iter("a") if a.get("href")]
    owners = _anchor_owners(anchors)
    dates = _date_nodes(root)
    counts: Counter[_El] = Counter()  # element -> the dates in it (up to _CLIMB levels down)
    for el in dates:
        counts.update([el, *islice(el.iterancestors(), _CLIMB)])
    if xpath is not None:
        picked = _selected_anchors(root, xpath)
        chosen = [(a, _anchor_date(a, set(picked), owners, dates, counts)) for a in picked]
    else:
        chosen = _dated_list(owners, dates, counts) or [(a, None) for a in _article_like(anchors, base)]
    links: dict[str, ArticleLink] = {}
    attachments: dict[str, None] = {}
    offsite: set[str] = set()
    site, allowed = _site(url), {_site(h) for h in allow_hosts}
    for a, date_text in chosen:
        link = _absolute(a.get("href", ""), base)
        if link is None or link in links or link in attachments or link in offsite:
            continue
        if len(links) + len(attachments) >= MAX_LINKS:
            break
        if _site(link) != site and not _allowed(_site(link), allowed):
            offsite.add(link)
        elif _is_binary(link):
            attachments[link] = None
        else:
            links[link] = ArticleLink(link, _title(a), _read_date(date_text, link, tz, now))
    return ListPage(tuple(links.values()), next_pages, tuple(attachments), len(offsite))


def pagination_urls(url: str, html: str, *, depth: int) -> list[str]:
    """The further list pages after ``url`` for a source with ``pages = depth``: at most depth - 1 URLs.

    In order of trust: a TRS ``createPageHTML(total, current, "index", "shtml")`` or ``Pager({size,
    current, prefix, suffix})`` call (index_{current+1} .. index_{total-1}); the next-page anchor (下一页,
    下页, next, ›) then the numbered pager links; an ``index[_n].shtml`` URL whose page says 共 N 页.
    Same site only, never ``url`` itself, no URL twice.
    """
    return _pagination(url, html, None, depth)


def walk_list_pages(
    url: str, html: str, fetch: Callable[[str], str | None], *, depth: int
) -> Iterator[tuple[str, str]]:
    """(url, html) of the first page, then of the pages after it: at most ``depth`` pages in all are
    yielded or fetched, never one URL twice. ``fetch`` gives a page's text, or None to skip that page."""
    yield url, html
    seen, queue, used = {_key(url)}, deque(pagination_urls(url, html, depth=depth)), 1
    while queue and used < depth:
        link = queue.popleft()
        if _key(link) in seen:
            continue
        seen.add(_key(link))
        used += 1
        page = fetch(link)
        if page is not None:
            yield link, page
            queue.extend(pagination_urls(link, page, depth=depth))


def validate_selector(selector: str) -> str:
    """The XPath of a CSS selector (cssselect); ValueError when it is not one."""
    from cssselect import GenericTranslator, SelectorError

    try:
        return str(GenericTranslator().css_to_xpath(selector))
    except SelectorError as e:
        raise ValueError(f"invalid CSS selector {selector!r}: {e}") from e


def _parse(html: str) -> _El | None:
    if not html or not html.strip():
        return None
    html = re.sub(r"^\s*<\?xml[^>]*>", "", _BAD_CHARS.sub("", html[:MAX_CHARS]))
    try:
        return lxml.html.document_fromstring(html, parser=lxml.html.HTMLParser(remove_comments=True))
    except (etree.ParserError, ValueError, TypeError):
        return None


def _base_url(root: _El, url: str) -> str:
    href = next((b.get("href", "").strip() for b in root.iter("base") if b.get("href", "").strip()), "")
    return (_absolute(href, url) or url) if href else url


def _absolute(href: str, base: str) -> str | None:
    href = re.sub(r"[\s\x00-\x1f]+", "", href)
    if not href or _NOT_A_LINK.match(href):
        return None
    try:
        parts = urlsplit(urljoin(base, href))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", parts.query, ""))
    except ValueError:
        return None


def _site(url_or_host: str) -> str:
    """host[:port] in lower case, without "www." and default ports: the unit of "the same site"."""
    text = url_or_host.strip().lower()
    netloc = (urlsplit(text).netloc if "//" in text else text.split("/")[0]).rpartition("@")[2]
    return netloc.removesuffix(":80").removesuffix(":443").removeprefix("www.")


def _allowed(host: str, allowed: set[str]) -> bool:
    """``allow_hosts`` entries: "x.gov.cn" (that host, any port unless one is given), "*.x.gov.cn"."""
    name = host.split(":")[0]
    for entry in allowed:
        if entry.startswith("*.") and (name == entry[2:] or name.endswith(entry[1:])):
            return True
        if host == entry or (":" not in entry and name == entry):
            return True
    return False


def _key(url: str) -> str:
    parts = urlsplit(url)
    return f"{_site(url)}{parts.path or '/'}?{parts.query}"


def _text(el: _El) -> str:
    return " ".join("".join(el.itertext()).split())


def _is_binary(link: str) -> bool:
    parts = urlsplit(link)  # also download scripts: downfile.jsp?filename=notice.docx
    return any(_BINARY.search(v) for v in [parts.path, *re.split(r"[&=]", parts.query)])


def _title(a: _El) -> str:
    pieces = [t for t in a.itertext() if not (d := _date_text(t)) or len(t.strip()) > len(d) + 2]
    text, attr = " ".join("".join(pieces).split()), " ".join((a.get("title") or "").split())
    if not text:
        alts = a.xpath(".//img/@alt")
        text = " ".join(str(alts[0]).split()) if alts else ""
    cut = text.rstrip(".…").strip()  # a list shortens long titles: "最高人民检察院、公安部联合..."
    return attr if attr and (not text or (cut and attr.startswith(cut))) else text or attr


def _anchor_owners(anchors: list[_El]) -> dict[_El, list[_El]]:
    """Each anchor and the elements up to _CLIMB levels above it -> the anchors under them."""
    owners: dict[_El, list[_El]] = defaultdict(list)
    for a in anchors:
        for el in islice([a, *islice(a.iterancestors(), _CLIMB)], _CLIMB + 1):
            owners[el].append(a)
    return owners


def _date_nodes(root: _El) -> dict[_El, str]:
    """Element -> the first date text of its own (its text, or a child's tail) that is mostly a date."""
    found: dict[_El, str] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for owner, text in ((el, el.text), (el.getparent(), el.tail)):
            if owner is not None and owner not in found and text and len(text) <= 60:
                date = _date_text(text)
                if date:
                    found[owner] = date
    return found


def _date_text(text: str) -> str | None:
    if not any(c.isdigit() for c in text):
        return None
    text = unicodedata.normalize("NFKC", text).strip()
    m = _FULL_DATE.search(text) or _SHORT_DATE.search(text)
    if m is None or len(text) > len(m.group(0)) + 8:
        return None  # a title or a sentence that mentions a date, not a date
    if m.re is _SHORT_DATE and not (1 <= int(m.group(1)) <= 12 and 1 <= int(m.group(2)) <= 31):
        return None
    return m.group(0)


def _main_anchor(anchors: list[_El]) -> _El:
    """The article link of a list item: an article-like URL first, then the longest link text."""
    ranked = [
        (bool(_ARTICLE_URL.search(a.get("href", ""))), len(_text(a)), -i) for i, a in enumerate(anchors)
    ]
    return anchors[-max(ranked)[2]]


def _signature(item: _El) -> str:
    path = [item, *islice(item.iterancestors(), 14)]
    return "/".join(f"{el.tag}.{el.get('class', '') if n >= 2 else ''}" for n, el in enumerate(path))


def _dated_list(
    owners: dict[_El, list[_El]], dates: dict[_El, str], counts: Counter[_El]
) -> list[tuple[_El, str | None]]:
    items: dict[_El, str] = {}
    groups: dict[str, list[_El]] = defaultdict(list)
    for el, date in dates.items():
        for node in [el, *islice(el.iterancestors(), _CLIMB)]:
            if counts[node] > 2 or len(owners.get(node, ())) > _ITEM_ANCHORS:
                break  # a container of several items
            if node in owners and node not in items:
                items[node] = date
                groups[_signature(node)].append(node)
    best, best_score = [], 1.5
    for members in groups.values():
        score = 0.0
        for item in members:  # long titles and article-like URLs, not nav-like words
            a = _main_anchor(owners[item])
            score += min(len(_text(a)), 20) / 20 + (0.5 if _ARTICLE_URL.search(a.get("href", "")) else 0.0)
        if score > best_score:
            best, best_score = members, score
    per_parent = Counter(i.getparent() for i in best)
    if len(per_parent) > 0.8 * len(best):  # one item per parent: a second one there is another part
        firsts: dict[_El | None, _El] = {}
        for i in best:
            firsts.setdefault(i.getparent(), i)
        best = list(firsts.values())
    chosen, kinds = list(best), {(i.tag, i.get("class")) for i in best}
    for parent in [p for p, n in per_parent.items() if p is not None and n > 1]:
        for sib in parent:  # undated items of the same kind in a list of dated ones belong to it too
            mine = owners.get(sib, [])
            if (sib.tag, sib.get("class")) in kinds and sib not in items and 0 < len(mine) <= _ITEM_ANCHORS:
                chosen.extend([sib] if len(_text(_main_anchor(mine))) >= _NAV_TITLE else [])
    if not chosen:
        return []
    order = {el: n for n, el in enumerate(chosen[0].getroottree().iter())}
    chosen.sort(key=lambda el: order.get(el, 0))
    return [(_main_anchor(owners[item]), items.get(item)) for item in chosen]


def _anchor_date(
    a: _El, picked: set[_El], owners: dict[_El, list[_El]], dates: dict[_El, str], counts: Counter[_El]
) -> str | None:
    """The date in the list item of a selected anchor: its nearest ancestor with a date, below any
    ancestor holding another selected anchor or several dates."""
    for node in [a, *islice(a.iterancestors(), _CLIMB)]:
        if counts[node] > 2 or any(b in picked and b is not a for b in owners.get(node, ())):
            return None
        if counts[node]:
            return next((dates[el] for el in node.iter() if el in dates), None)
    return None


def _article_like(anchors: list[_El], base: str) -> list[_El]:
    out: list[_El] = []
    for a in anchors:
        if len(out) > 2 * MAX_LINKS or not _ARTICLE_URL.search(a.get("href", "")):
            continue
        link = _absolute(a.get("href", ""), base)
        if link and not _LIST_URL.search(urlsplit(link).path) and len(_title(a)) >= _NAV_TITLE:
            out.extend([] if _in_nav(a) else [a])
    return out


def _in_nav(a: _El) -> bool:
    for el in islice(a.iterancestors(), 20):
        words = re.split(r"[\s_\-]+", f"{el.get('class') or ''} {el.get('id') or ''}".lower())
        if el.tag in ("nav", "header", "footer") or _NAV_WORDS.intersection(words):
            return True
    return False


def _read_date(text: str | None, link: str, tz: str, now: datetime | None) -> datetime | None:
    if not text:
        return None
    if _FULL_DATE.search(text):
        return parse_datetime(text, tz=tz)
    m = _SHORT_DATE.search(text)
    if m is None:
        return None
    month, day = int(m.group(1)), int(m.group(2))
    in_url = _URL_DATE.search(urlsplit(link).path)
    if in_url and int(in_url.group(2)) == month:
        year = int(in_url.group(1))
    else:
        local_now = (now or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(tz))
        year = local_now.year
        try:
            if datetime(year, month, day, tzinfo=local_now.tzinfo) > local_now + timedelta(days=1):
                year -= 1
        except ValueError:
            return None
    return parse_datetime(f"{year}-{month:02d}-{day:02d}", tz=tz)


def _selected_anchors(root: _El, xpath: str) -> list[_El]:
    try:
        found = root.xpath(xpath)
    except etree.XPathError:
        return []
    out: list[_El] = []
    for el in found if isinstance(found, list) else []:
        if isinstance(el, etree._Element):  # an anchor, or else the anchors in what was selected
            out.extend([el] if el.tag == "a" else el.iter("a"))
    return [a for a in out if a.get("href")]


def _pagination(url: str, html: str, root: _El | None, depth: int) -> list[str]:
    if depth <= 1 or not html:
        return []
    html = html[:MAX_CHARS]
    found = _scripted_pages(url, html) or _anchored_pages(url, html, root) or _counted_pages(url, html)
    out: list[str] = []
    seen, site = {_key(url)}, _site(url)
    for link in found:
        if _key(link) not in seen and _site(link) == site and len(out) < depth - 1:
            seen.add(_key(link))
            out.append(link)
    return out


def _scripted_pages(url: str, html: str) -> list[str]:
    for m in _CREATE_PAGE.finditer(html):  # createPageHTML(['page_div',] total, current, 'index', 'shtml')
        args = [a.strip() for a in m.group(1).split(",")]
        strings = [a.strip("'\" ") for a in args if a[:1] in "'\""]
        numbers = [n for n in (_js_int(a, html) for a in args if a[:1] not in "'\"") if n is not None]
        names = [i for i in range(len(strings) - 1) if re.fullmatch(r"s?html?|jsp|php|aspx?", strings[i + 1])]
        if numbers and names:
            stem, ext = strings[names[-1]], strings[names[-1] + 1]
            return _index_pages(url, stem, ext, numbers[1] if len(numbers) > 1 else 0, numbers[0])
    pager = _PAGER.search(html)  # new Pager({size: 5, current: 0, prefix: 'index', suffix: 'html'})
    if pager:
        fields = dict(re.findall(r"(\w+)\s*:\s*['\"]?([\w.]+)['\"]?", pager.group(1)))
        size, at = _js_int(fields.get("size", ""), html), _js_int(fields.get("current", "0"), html)
        if size and at is not None and "prefix" in fields and "suffix" in fields:
            return _index_pages(url, fields["prefix"], fields["suffix"], at, size)
    return []


def _js_int(arg: str, html: str) -> int | None:
    if arg.isdigit():
        return int(arg[:6])
    if re.fullmatch(r"[A-Za-z_$][\w$]*", arg):  # var countPage = 8; ... createPageHTML(countPage, ...)
        m = re.search(rf"\b{re.escape(arg)}\s*=\s*['\"]?(\d{{1,6}})\b", html)
        return int(m.group(1)) if m else None
    return None


def _index_pages(url: str, stem: str, ext: str, current: int, total: int) -> list[str]:
    stem = re.sub(r"_\d+$", "", stem)
    return [
        urljoin(url, f"{stem}_{n}.{ext}") for n in range(current + 1, min(total, current + 1 + MAX_PAGES))
    ]


def _counted_pages(url: str, html: str) -> list[str]:
    """index_N pages after an index[_n].shtml page that says 共 N 页 or links index_M ("尾页")."""
    name = _INDEX_NAME.match(urlsplit(url).path.rsplit("/", 1)[-1])
    if not name:
        return []
    last = [int(n) + 1 for n in re.findall(rf"href=[\"']?(?:\./)?index_(\d{{1,4}})\.{name.group(2)}\b", html)]
    total = max([int(n) for n in _TOTAL_PAGES.findall(html[:MAX_CHARS])[:1]] + last, default=0)
    return _index_pages(url, "index", name.group(2), int(name.group(1) or 0), total)


def _anchored_pages(url: str, html: str, root: _El | None) -> list[str]:
    root = _parse(html) if root is None else root
    if root is None:
        return []
    nexts: list[tuple[int, str]] = []  # (0, next-page link) or (page number, numbered pager link)
    for a in root.iter("a"):
        text = _text(a).lower()
        hint = "" if text else f"{a.get('class')} {a.get('title')} {a.get('rel')}".lower()
        if text in _NEXT_TEXTS or text.startswith("下一页") or "next" in hint:
            nexts.append((0, a.get("href", "")))
        elif text.isdigit() and 1 < int(text) < 10_000 and _in_pager(a):
            nexts.append((int(text), a.get("href", "")))
    base = _base_url(root, url)
    links = [(n, link) for n, href in nexts if (link := _absolute(href, base))]
    return [link for n, link in links if n == 0][:1] + [link for n, link in sorted(links) if n]


def _in_pager(a: _El) -> bool:
    attrs = (f"{el.get('class') or ''} {el.get('id') or ''}" for el in islice(a.iterancestors(), 4))
    return any(re.search(r"pag|fenye", text, re.I) for text in attrs)
