"""The pipeline's steps, each one unit of work by ID, with the I/O at its edges. Celery tasks in
``workers/tasks.py`` are thin wrappers around these; ``run --once`` and the tests use the same code.

    poll(source_id)      fetch (conditional GET) -> parse -> store a Poll row   -> ingest(poll_id)
    ingest(poll_id)      normalize -> sanitize (last, inside normalize) -> dedupe -> store, one
                         transaction under the ingest lock -> channels marked dirty, Delivery rows
    render(channel_id)   published items -> RSS + Atom + JSON Feed bytes + ETags stored (only when
                         items change)
    deliver(delivery_id) frozen payload -> signed POST -> sent | retry later | dead

Each returns what to enqueue next; the caller enqueues it after the transaction has committed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from syndication.errors import DeliveryError, FetchError, ParseError, SyndicationError
from syndication.fetch.http import fetch
from syndication.fetch.politeness import RateLimitTimeout, next_interval
from syndication.models import ChannelConfig, Config, FetchResult, PublishedItem, RawItem, SourceConfig
from syndication.pages import poll_page_source
from syndication.parse.feed import parse_feed
from syndication.process.attribution import render_attribution
from syndication.process.normalize import normalize_item
from syndication.publish import webhooks
from syndication.publish.feeds import render_atom, render_json, render_rss
from syndication.runtime import Runtime, utcnow
from syndication.storage import repo
from syndication.storage.db import transaction
from syndication.storage.tables import (
    ArticleRow,
    ChannelFeedRow,
    DeliveryRow,
    PollRow,
    SightingRow,
    SourceRow,
)

log = logging.getLogger("syndication.pipeline")
Clock = Callable[[], datetime]


# ---------------------------------------------------------------- poll


def _fetch_failure(e: FetchError) -> dict[str, object]:
    """The poll outcome of a fetch that failed: its HTTP status and Retry-After, when it has them."""
    return {
        "status": "error",
        "http_status": e.status,
        "error": f"fetch: {e}",
        "retry_after": getattr(e, "retry_after", None),
    }


def poll(rt: Runtime, source_id: str, *, now: Clock = utcnow) -> int | None:
    """Fetch and parse one source. Returns the poll id to ingest, or None (304, error, disabled)."""
    with transaction(rt.sessions, write=False) as s:
        src = s.get(SourceRow, source_id)
        if src is None or not src.enabled:
            return None
        url, etag, last_modified = src.url, src.etag, src.last_modified
        first_poll = src.last_success_at is None
    config = rt.config.source(source_id) or _source_config(src)
    started, t0 = now(), time.perf_counter()
    outcome_kw: dict[str, object] = {}
    try:
        if config.kind == "page":
            return _poll_page(rt, source_id, config, url, etag, last_modified, first_poll, started, t0, now)
        if rt.gate is not None:
            result = rt.gate.fetch(
                url, etag=etag, last_modified=last_modified, rate=config.rate, robots=config.robots
            )
        else:
            result = fetch(
                url, etag=etag, last_modified=last_modified, client=rt.http, limits=rt.fetch_limits
            )
        permanent = result.permanent_redirect
        if result.not_modified:
            outcome_kw = {"status": "not_modified", "http_status": 304}
        else:
            parsed = parse_feed(result.content, url=result.url, content_type=result.content_type)
            outcome_kw = {
                "status": "ok",
                "http_status": result.status,
                "warning": parsed.warning,
                "base_url": result.url,
                "raw_items": [i.to_json() for i in parsed.items],
            }
        outcome_kw.update(etag=result.etag, last_modified=result.last_modified, new_url=permanent)
    except FetchError as e:
        outcome_kw = _fetch_failure(e)
    except ParseError as e:
        outcome_kw = {"status": "error", "http_status": 200, "error": f"parse: {e}"}
    except RateLimitTimeout as e:  # the host is held (Retry-After) or booked far ahead: come back then
        outcome_kw = {"status": "error", "error": f"politeness: {e}", "retry_after": e.retry_after}
    except Exception as e:  # bad input must never leave a source claimed and silent
        log.exception("unexpected error polling", extra={"source_id": source_id, "url": url})
        outcome_kw = {"status": "error", "error": f"unexpected: {type(e).__name__}: {e}"[:2000]}
    return _record(rt, source_id, url, outcome_kw, started, t0, now)


def _record(
    rt: Runtime,
    source_id: str,
    url: str,
    outcome_kw: dict[str, object],
    started: datetime,
    t0: float,
    now: Clock,
) -> int | None:
    finished = now()
    outcome = repo.PollOutcome(
        url=url,
        started_at=started,
        finished_at=finished,
        duration_ms=round((time.perf_counter() - t0) * 1000, 1),
        **outcome_kw,  # type: ignore[arg-type]
    )
    log.info(
        "poll done",
        extra={"source_id": source_id, "url": url, "status": outcome.status, "error": outcome.error},
    )
    with transaction(rt.sessions) as s:
        src = s.get_one(SourceRow, source_id)
        row = repo.record_poll(
            s,
            src,
            outcome,
            failure_cap=timedelta(seconds=rt.settings.failure_backoff_max),
            rng=rt.rng,
            interval=_adapted_interval(s, rt.config.source(source_id), finished),
        )
        return row.id if outcome.status == "ok" else None


def _adapted_interval(session: Session, config: SourceConfig | None, now: datetime) -> timedelta | None:
    """The interval adapted to how often the source publishes, within its configured bounds."""
    if config is None or (config.min_interval is None and config.max_interval is None):
        return None
    history = session.scalars(
        select(SightingRow.published_at)
        .where(SightingRow.source_id == config.id, SightingRow.published_at.is_not(None))
        .order_by(SightingRow.published_at.desc())
        .limit(20)
    )
    return next_interval(
        [t for t in history if t is not None],
        now=now,
        min_interval=config.min_interval or config.interval,
        max_interval=config.max_interval or config.interval,
        current=config.interval,
    )


def _known_urls(rt: Runtime, source_id: str) -> Callable[[Iterable[str]], set[str]]:
    def known(urls: Iterable[str]) -> set[str]:
        wanted = list(urls)
        with transaction(rt.sessions, write=False) as s:
            return set(
                s.scalars(
                    select(SightingRow.url).where(
                        SightingRow.source_id == source_id, SightingRow.url.in_(wanted)
                    )
                )
            )

    return known


def _poll_page(
    rt: Runtime,
    source_id: str,
    config: SourceConfig,
    url: str,
    etag: str | None,
    last_modified: str | None,
    first_poll: bool,
    started: datetime,
    t0: float,
    now: Clock,
) -> int | None:
    """A page source: list page(s) → new article pages → extracted items (see syndication.pages)."""
    outcome_kw: dict[str, object]
    if rt.gate is None:
        outcome_kw = {"status": "error", "error": "page sources need the Redis broker (politeness)"}
        return _record(rt, source_id, url, outcome_kw, started, t0, now)
    try:
        found = poll_page_source(
            rt.gate,
            config,
            url=url,
            etag=etag,
            last_modified=last_modified,
            known=_known_urls(rt, source_id),
            first_poll=first_poll,
        )
        if isinstance(found, FetchResult):
            outcome_kw = {"status": "not_modified", "http_status": 304}
            outcome_kw.update(etag=found.etag, last_modified=found.last_modified)
        else:
            outcome_kw = {
                "status": "ok",
                "http_status": found.result.status,
                "base_url": found.result.url,
                "raw_items": [i.to_json() for i in found.items],
                "warning": "; ".join(found.errors)[:4000] or None,
                "etag": found.result.etag,
                "last_modified": found.result.last_modified,
                "new_url": found.result.permanent_redirect,
            }
    except FetchError as e:
        outcome_kw = _fetch_failure(e)
    except (ParseError, SyndicationError) as e:
        outcome_kw = {"status": "error", "error": f"{'parse' if isinstance(e, ParseError) else 'poll'}: {e}"}
    except Exception as e:
        log.exception("unexpected error polling", extra={"source_id": source_id, "url": url})
        outcome_kw = {"status": "error", "error": f"unexpected: {type(e).__name__}: {e}"[:2000]}
    return _record(rt, source_id, url, outcome_kw, started, t0, now)


# ---------------------------------------------------------------- ingest


@dataclass
class IngestOutcome:
    poll_id: int
    new: int = 0
    duplicates: int = 0
    updated: int = 0
    bad_items: int = 0
    channels: list[str] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)


def _source_config(row: SourceRow) -> SourceConfig:
    return SourceConfig(
        id=row.id,
        name=row.name,
        kind=row.kind,
        url=row.url,
        interval=timedelta(seconds=row.interval_seconds),
        priority=row.priority,
        timezone=row.timezone,
    )


def ingest(rt: Runtime, poll_id: int, *, now: Clock = utcnow) -> IngestOutcome | None:
    """Normalize and store a poll's items. Idempotent: an ingested poll is skipped."""
    with transaction(rt.sessions, write=False) as s:
        p = s.get(PollRow, poll_id)
        if p is None or p.ingested_at is not None or p.status != "ok":
            return None
        source = _source_config(s.get_one(SourceRow, p.source_id))
        raw_items, base_url = list(p.raw_items or ()), p.base_url or p.url
    at = now()
    items, errors = [], []
    for i, raw in enumerate(raw_items):
        try:
            items.append(normalize_item(RawItem.from_json(raw), source, base_url=base_url, now=at))
        except Exception as e:  # one bad entry must not lose the others
            errors.append(f"entry {i}: {type(e).__name__}: {e}")
            log.warning("bad entry", extra={"source_id": source.id, "poll_id": poll_id, "error": str(e)})
    with transaction(rt.sessions, serial=True) as s:
        p = s.get_one(PollRow, poll_id)
        if p.ingested_at is not None:
            return None
        src = s.get_one(SourceRow, p.source_id)
        result = repo.ingest_items(s, src, items, rt.config, at)
        errors += result.errors
        p.ingested_at = at
        p.new_articles, p.duplicates = len(result.new), result.duplicates
        p.raw_items = None
        if errors:
            p.warning = "; ".join(([p.warning] if p.warning else []) + errors)[:4000]
    log.info(
        "ingested: %d new, %d duplicates, %d updated, %d bad entries",
        len(result.new),
        result.duplicates,
        result.updated,
        len(errors),
        extra={"source_id": source.id, "poll_id": poll_id},
    )
    return IngestOutcome(
        poll_id=poll_id,
        new=len(result.new),
        duplicates=result.duplicates,
        updated=result.updated,
        bad_items=len(errors),
        channels=sorted(result.channels),
        deliveries=result.deliveries,
    )


# ---------------------------------------------------------------- render


def article_guid(article_id: int) -> str:
    return f"urn:syndication:article:{article_id}"


def published_items(
    session: Session, config: Config, channel: ChannelConfig, articles: Sequence[ArticleRow]
) -> list[PublishedItem]:
    ids = [a.id for a in articles]
    sightings = repo.sightings_of(session, ids)
    sources = {r.id: r for r in session.scalars(select(SourceRow))}
    disclaimer = (
        channel.disclaimer if channel.disclaimer is not None else config.disclaimers.get(channel.template)
    )
    out = []
    for a in articles:
        src = sources.get(a.source_id)
        prov = repo.provenance_of(a, sightings[a.id], src.name if src else a.source_id)
        attachments = repo.attachments_of(a)
        html, text = render_attribution(
            title=a.title,
            body_html=a.content_html,
            body_text=a.content_text,
            provenance=prov,
            template=channel.template,
            disclaimer=disclaimer,
            attachments=attachments,
            template_dirs=config.template_dirs,
            tz=src.timezone if src else "UTC",  # shown in the time zone the source publishes in
        )
        out.append(
            PublishedItem(
                article_id=a.id,
                guid=article_guid(a.id),
                title=a.title,
                link=a.url,
                content_html=a.content_html,
                content_text=a.content_text,
                summary=a.summary,
                categories=tuple(a.categories or ()),
                published_at=a.sort_at,
                updated_at=max(a.changed_at, a.updated_at or a.changed_at),
                provenance=prov,
                attribution_html=html,
                attribution_text=text,
                template=channel.template,
                attachments=attachments,
            )
        )
    return out


def _channel_fingerprint(channel: ChannelConfig, config: Config, articles: Sequence[ArticleRow]) -> str:
    h = hashlib.sha256()
    h.update(repr((channel, config.disclaimers.get(channel.template), config.template_dirs)).encode())
    for a in articles:
        h.update(f"|{a.id}:{a.changed_at.isoformat()}".encode())
    return h.hexdigest()


def feed_urls(rt: Runtime, channel_id: str) -> tuple[str, str, str, str]:
    """The site's URL, then the channel's RSS, Atom and JSON Feed URLs (their self links)."""
    base = rt.settings.base_url
    feeds = f"{base}/feeds/{channel_id}"
    return base + "/", f"{feeds}.rss", f"{feeds}.atom", f"{feeds}.json"


def render(rt: Runtime, channel_id: str, *, now: Clock = utcnow) -> bool:
    """Re-render a channel's feeds if its items changed. Returns True when new bytes were stored."""
    channel = rt.config.channel(channel_id)
    with transaction(rt.sessions, write=False) as s:
        row = s.get(ChannelFeedRow, channel_id)
        if row is None:
            return False
        marked = row.dirty_since
        if channel is None:
            articles: list[ArticleRow] = []
        else:
            sources = None if "*" in channel.sources else list(channel.sources)
            articles = repo.channel_articles(s, sources, channel.limit)
        fingerprint = _channel_fingerprint(channel, rt.config, articles) if channel else ""
        unchanged = row.items_hash == fingerprint and row.rss is not None and row.json is not None
        error = None
        try:
            items = published_items(s, rt.config, channel, articles) if channel and not unchanged else []
        except SyndicationError as e:  # an operator template that fails on this data: permanent
            error, items = f"{type(e).__name__}: {e}", []
            log.error("render failed", extra={"channel_id": channel_id, "error": error})
    at = now()
    rss = atom = json = None
    if channel is not None and not unchanged and error is None:
        site, rss_url, atom_url, json_url = feed_urls(rt, channel_id)
        rss = render_rss(channel, items, site_url=site, feed_url=rss_url, updated=at)
        atom = render_atom(channel, items, site_url=site, feed_url=atom_url, updated=at)
        json = render_json(channel, items, site_url=site, feed_url=json_url, updated=at)
    with transaction(rt.sessions) as s:
        row = s.get_one(ChannelFeedRow, channel_id)
        if not unchanged:
            row.error = error
        if rss is not None and atom is not None and json is not None:
            row.rss, row.atom, row.json = rss, atom, json
            row.rss_etag = '"' + hashlib.sha256(rss).hexdigest()[:32] + '"'
            row.atom_etag = '"' + hashlib.sha256(atom).hexdigest()[:32] + '"'
            row.json_etag = '"' + hashlib.sha256(json).hexdigest()[:32] + '"'
            row.items_hash, row.item_count = fingerprint, len(items)
            row.content_changed_at, row.rendered_at = at, at
        if row.dirty_since == marked:
            row.dirty_since = None
    return rss is not None


# ---------------------------------------------------------------- deliver


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # sent | pending | dead | skipped
    retry_in: float | None = None


def _webhook_blocked_until(s: Session, webhook_id: str, delivery_id: int, now: datetime) -> datetime | None:
    """If another delivery to the same webhook just failed to connect, timed out or was told to slow
    down (429 / 503), wait for its retry instead of spending this delivery's attempts on a target that
    is down or rate-limiting us."""
    return s.scalar(
        select(DeliveryRow.next_attempt_at)
        .where(
            DeliveryRow.webhook_id == webhook_id,
            DeliveryRow.id != delivery_id,
            DeliveryRow.status == "pending",
            DeliveryRow.attempts > 0,
            or_(DeliveryRow.last_status_code.is_(None), DeliveryRow.last_status_code.in_((429, 503))),
            DeliveryRow.next_attempt_at > now,
            DeliveryRow.last_attempt_at >= now - timedelta(seconds=60),
        )
        .order_by(DeliveryRow.next_attempt_at)
        .limit(1)
    )


def deliver(rt: Runtime, delivery_id: int, *, now: Clock = utcnow) -> DeliveryOutcome:
    settings = rt.settings
    with transaction(rt.sessions) as s:
        q = select(DeliveryRow).where(DeliveryRow.id == delivery_id)
        if s.bind is not None and s.bind.dialect.name != "sqlite":
            q = q.with_for_update()
        d = s.scalar(q)
        at = now()
        if d is None or d.status != "pending":
            return DeliveryOutcome(d.status if d else "skipped")
        if d.lease_until and d.lease_until > at:
            return DeliveryOutcome("skipped")  # another worker is attempting it
        if d.next_attempt_at and d.next_attempt_at > at:  # early message: come back when due
            return DeliveryOutcome("pending", (d.next_attempt_at - at).total_seconds())
        hook = next((w for w in rt.config.webhooks if w.id == d.webhook_id), None)
        if hook is None:
            d.status, d.last_error = "dead", "the webhook is no longer in the config"
            return DeliveryOutcome("dead")
        blocked = _webhook_blocked_until(s, hook.id, d.id, at)
        if blocked is not None:
            d.next_attempt_at = blocked
            return DeliveryOutcome("pending", (blocked - at).total_seconds())
        if d.payload is None:
            article = s.get_one(ArticleRow, d.article_id)
            channel = next(
                (c for c in rt.config.channels if c.id in (d.channels or hook.channels)),
                rt.config.channel(hook.channels[0]),
            )
            assert channel is not None
            try:
                item = published_items(s, rt.config, channel, [article])[0]
            except SyndicationError as e:  # an operator template: counts as a failed attempt
                d.attempts += 1
                d.last_attempt_at, d.last_status_code = at, None
                d.last_error = f"cannot build the payload: {type(e).__name__}: {e}"[:2000]
                return _failed_attempt(rt, d, at, extra={"delivery_id": delivery_id, "error": d.last_error})
            payload = webhooks.build_payload(item, channel_ids=list(d.channels), timestamp=at)
            d.payload = webhooks.encode_payload(payload)
        d.lease_until = at + timedelta(seconds=settings.webhook_timeout + 60)
        body, msg_id = d.payload, d.msg_id
    headers = webhooks.signed_headers(hook.secret, msg_id, int(time.time()), body)
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    try:
        status_code = webhooks.post(hook.url, headers=headers, body=body, timeout=settings.webhook_timeout)
    except DeliveryError as e:
        status_code, error, retry_after = e.status, str(e), e.retry_after
    done = now()
    with transaction(rt.sessions) as s:
        d = s.get_one(DeliveryRow, delivery_id)
        d.attempts += 1
        d.last_attempt_at, d.last_status_code, d.last_error, d.lease_until = done, status_code, error, None
        extra = {"delivery_id": delivery_id, "url": hook.url, "status": status_code, "error": error}
        if error is None:
            log.info("delivered (attempt %d)", d.attempts, extra=extra)
            d.status, d.delivered_at, d.next_attempt_at = "sent", done, None
            return DeliveryOutcome("sent")
        if status_code == 410:  # Gone: the receiver says never again
            d.status, d.next_attempt_at = "dead", None
            log.warning("delivery dead: the receiver answered 410 Gone", extra=extra)
            return DeliveryOutcome("dead")
        return _failed_attempt(rt, d, done, extra=extra, retry_after=retry_after)


def _failed_attempt(
    rt: Runtime, d: DeliveryRow, at: datetime, *, extra: dict[str, object], retry_after: float | None = None
) -> DeliveryOutcome:
    """After a failed attempt: dead once the retry budget is spent, else the next attempt scheduled
    with backoff and jitter (never earlier than a receiver's Retry-After)."""
    settings = rt.settings
    if d.attempts >= settings.webhook_max_attempts:
        d.status, d.next_attempt_at = "dead", None
        log.warning("delivery dead after %d attempts", d.attempts, extra=extra)
        return DeliveryOutcome("dead")
    delay = webhooks.retry_delay(
        d.attempts, base=settings.webhook_retry_base, cap=settings.webhook_retry_cap, rng=rt.rng
    )
    if retry_after is not None:  # 429 / 503 with Retry-After: the receiver says when
        delay = max(delay, min(retry_after, settings.webhook_retry_cap))
    d.next_attempt_at = at + timedelta(seconds=delay)
    log.info("delivery failed (attempt %d), retrying in %.1fs", d.attempts, delay, extra=extra)
    return DeliveryOutcome("pending", delay)
