"""Polling a `kind = "page"` source: a list page (and its next pages) → article links not seen
before → each article page fetched and extracted → RawItems, ingested like a feed's entries.

Every request goes through :class:`syndication.fetch.gate.Gate` (robots.txt, per-host token bucket,
host holds). One article page that fails is a per-page error in the poll's warning; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from syndication.errors import FetchError, ParseError, SyndicationError
from syndication.fetch.encoding import decode_bytes
from syndication.fetch.gate import Gate
from syndication.models import FetchResult, RawItem, SourceConfig
from syndication.parse.listpage import ArticleLink, parse_list_page, walk_list_pages
from syndication.parse.page import ExtractedArticle, Selectors, extract_article, is_binary_url


@dataclass
class PageOutcome:
    result: FetchResult  # the first list page's answer (its ETag / Last-Modified are stored)
    links: list[ArticleLink] = field(default_factory=list)  # every article link found
    new_links: list[ArticleLink] = field(default_factory=list)  # the ones fetched this time
    items: list[RawItem] = field(default_factory=list)
    articles: list[tuple[ArticleLink, ExtractedArticle]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # per-page errors


def selectors_of(source: SourceConfig) -> Selectors | None:
    return Selectors(**dict(source.selectors)) if source.selectors else None


def read_list(gate: Gate, source: SourceConfig, result: FetchResult) -> tuple[list[ArticleLink], list[str]]:
    """The article links of the list page and of its next pages (up to ``source.pages`` pages)."""
    errors: list[str] = []
    html, _ = decode_bytes(result.content, content_type=result.content_type)

    def next_page(url: str) -> str | None:
        try:
            r = gate.fetch(url, rate=source.rate, robots=source.robots)
            return decode_bytes(r.content, content_type=r.content_type)[0]
        except (FetchError, ParseError) as e:
            errors.append(f"list page {url}: {e}")
            return None

    links: list[ArticleLink] = []
    seen: set[str] = set()
    for url, page in walk_list_pages(result.url, html, next_page, depth=source.pages):
        listed = parse_list_page(
            page, url=url, selector=source.links, allow_hosts=source.allow_hosts, tz=source.timezone
        )
        for link in listed.links:
            if link.url not in seen and not is_binary_url(link.url):
                seen.add(link.url)
                links.append(link)
    return links, errors


def _title(extracted: str | None, listed: str | None) -> str:
    """The article page's title, unless it is only a column or site name (under 8 characters) where
    the list page names the article at length (list titles are often cut short with "...")."""
    if extracted and (len(extracted) >= 8 or not listed or len(listed) <= len(extracted)):
        return extracted
    return listed or extracted or ""


def raw_item(link: ArticleLink, article: ExtractedArticle) -> RawItem:
    published = article.published or link.date
    return RawItem(
        guid=None,
        url=link.url,  # the URL the list links to: the key that says "seen before"
        title=_title(article.title, link.title),
        content_html=article.content_html,
        author=article.author,
        publisher=article.source,
        published=published.isoformat() if published else None,
        categories=(article.category,) if article.category else (),
        attachments=article.attachments,  # PDF/DOC/XLS links of the page (normalize vets and caps them)
    )


def poll_page_source(
    gate: Gate,
    source: SourceConfig,
    *,
    url: str,
    etag: str | None,
    last_modified: str | None,
    known: Callable[[Iterable[str]], set[str]],
    first_poll: bool,
) -> PageOutcome | FetchResult:
    """Returns the 304 FetchResult when the list page is unchanged, else what was found and fetched.
    Raises FetchError / ParseError when the list page itself cannot be read."""
    result = gate.fetch(url, etag=etag, last_modified=last_modified, rate=source.rate, robots=source.robots)
    if result.not_modified:
        return result
    links, errors = read_list(gate, source, result)
    if not links:
        raise ParseError(f"no article links found on the list page {result.url}")
    seen = known(link.url for link in links)
    new = [link for link in links if link.url not in seen]
    if first_poll:
        new = new[: source.backfill]
    outcome = PageOutcome(result=result, links=links, new_links=new, errors=errors)
    selectors = selectors_of(source)
    for link in new:
        try:
            page = gate.fetch(link.url, rate=source.rate, robots=source.robots)
            article = extract_article(
                page.content,
                url=page.url,
                content_type=page.content_type,
                selectors=selectors,
                tz=source.timezone,
            )
        except (FetchError, ParseError) as e:
            outcome.errors.append(f"{link.url}: {e}")
            continue
        except SyndicationError as e:  # a rate-limit wait too long: try this page on the next poll
            outcome.errors.append(f"{link.url}: {type(e).__name__}: {e}")
            continue
        outcome.articles.append((link, article))
        outcome.items.append(raw_item(link, article))
    return outcome
