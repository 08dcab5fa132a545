"""Storage operations, one function per intent. Callers own the transaction (storage.db.transaction).

Sources and polls: :func:`sync_sources`, :func:`claim_due_sources`, :func:`record_poll`.
Articles: :func:`ingest_items` (dedupe + sightings + outbox), :func:`published_items`.
Channels and deliveries: :func:`mark_channels_dirty`, :func:`store_rendered_feed`, delivery helpers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from syndication import decide
from syndication.models import Attachment, Config, Item, Provenance, Sighting, WebhookConfig
from syndication.process.normalize import hashes_body_alone
from syndication.storage.tables import (
    ArticleRow,
    ChannelFeedRow,
    DeliveryRow,
    PollRow,
    SightingRow,
    SourceRow,
)

# ---------------------------------------------------------------- sources


def sync_sources(session: Session, config: Config, now: datetime) -> None:
    """Mirror the config's sources into the table: add new ones (due now), update changed ones,
    disable removed ones (their articles stay)."""
    rows = {r.id: r for r in session.scalars(select(SourceRow))}
    for s in config.sources:
        row = rows.pop(s.id, None)
        if row is None:
            session.add(
                SourceRow(
                    id=s.id,
                    name=s.name,
                    kind=s.kind,
                    url=s.url,
                    config_url=s.url,
                    interval_seconds=int(s.interval.total_seconds()),
                    priority=s.priority,
                    timezone=s.timezone,
                    enabled=True,
                    next_poll_at=now,
                    consecutive_failures=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            continue
        if row.config_url != s.url:  # the operator changed it (a permanent redirect changes only row.url)
            row.disabled_reason = None
            row.config_url, row.url, row.etag, row.last_modified, row.next_poll_at = (
                s.url,
                s.url,
                None,
                None,
                now,
            )
        changes = {
            "name": s.name,
            "kind": s.kind,
            "interval_seconds": int(s.interval.total_seconds()),
            "priority": s.priority,
            "timezone": s.timezone,
            "enabled": row.disabled_reason is None,  # a source the site said is gone stays off
        }
        for key, value in changes.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
                row.updated_at = now
    for row in rows.values():
        if row.enabled:
            row.enabled = False
            row.updated_at = now


def sync_channels(session: Session, config: Config, now: datetime) -> list[str]:
    """Make sure every channel has a feed row and is re-rendered once (the config may have changed
    its title, template or limit; rendering identical content keeps the same ETag)."""
    existing = set(session.scalars(select(ChannelFeedRow.channel_id)))
    for ch in config.channels:
        if ch.id not in existing:
            session.add(ChannelFeedRow(channel_id=ch.id, item_count=0, dirty_since=now))
    ids = [ch.id for ch in config.channels]
    mark_channels_dirty(session, ids, now)
    return ids


def claim_due_sources(session: Session, now: datetime, lease: timedelta, limit: int = 500) -> list[str]:
    """Sources due for a poll; each gets a lease so it is not enqueued twice. A lease that runs out
    (the poll's message or worker was lost) makes the source due again."""
    due = or_(SourceRow.lease_until.is_(None), SourceRow.lease_until <= now)
    query = (
        select(SourceRow.id)
        .where(SourceRow.enabled.is_(True), SourceRow.next_poll_at <= now, due)
        .order_by(SourceRow.next_poll_at)
        .limit(limit)
    )
    ids = list(session.scalars(query))
    if ids:
        session.execute(update(SourceRow).where(SourceRow.id.in_(ids)).values(lease_until=now + lease))
    return ids


def claim_sources(session: Session, ids: Sequence[str], now: datetime, lease: timedelta) -> list[str]:
    """Claim the given sources now, due or not (``run --once``, ``poll`` by hand)."""
    rows = list(session.scalars(select(SourceRow).where(SourceRow.id.in_(ids), SourceRow.enabled.is_(True))))
    for row in rows:
        row.lease_until = now + lease
    return [r.id for r in rows]


@dataclass(frozen=True)
class PollOutcome:
    status: str  # ok | not_modified | error
    url: str
    started_at: datetime
    finished_at: datetime
    duration_ms: float
    http_status: int | None = None
    error: str | None = None
    warning: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    base_url: str | None = None
    raw_items: list[dict[str, object]] | None = None
    retry_after: float | None = None
    new_url: str | None = None  # a permanent redirect to remember


def record_poll(
    session: Session,
    source: SourceRow,
    outcome: PollOutcome,
    *,
    failure_cap: timedelta,
    rng: random.Random,
    interval: timedelta | None = None,
) -> PollRow:
    """Store the poll and the source's new state; returns the poll row (to ingest when ok).
    ``interval``: the adapted interval for the next poll (default: the configured one)."""
    now = outcome.finished_at
    interval = interval or timedelta(seconds=source.interval_seconds)
    poll = PollRow(
        source_id=source.id,
        url=outcome.url,
        started_at=outcome.started_at,
        finished_at=now,
        status=outcome.status,
        http_status=outcome.http_status,
        duration_ms=outcome.duration_ms,
        error=outcome.error,
        warning=outcome.warning,
        base_url=outcome.base_url,
        raw_items=outcome.raw_items,
        item_count=len(outcome.raw_items or ()),
        ingested_at=now if outcome.status != "ok" else None,
    )
    session.add(poll)
    source.last_polled_at = now
    source.last_status = outcome.status
    source.last_http_status = outcome.http_status
    source.last_duration_ms = outcome.duration_ms
    source.lease_until = None
    if outcome.http_status == 410:  # Gone: stop asking, visibly, until the operator changes the URL
        source.enabled = False
        source.disabled_reason = f"the site answered 410 Gone for {outcome.url}; change the source's url in the config to poll again"
    if outcome.status == "error":
        source.consecutive_failures += 1
        source.last_error = outcome.error
        source.next_poll_at = decide.next_poll_after_failure(
            now, interval, source.consecutive_failures, failure_cap, rng, outcome.retry_after
        )
    else:
        source.consecutive_failures = 0
        source.last_error = None
        source.last_success_at = now
        source.next_poll_at = decide.next_poll_after_success(now, interval, rng)
        if outcome.etag or outcome.last_modified or outcome.status == "ok":
            source.etag, source.last_modified = outcome.etag, outcome.last_modified
        if outcome.new_url:
            source.url = outcome.new_url
    session.flush()
    return poll


# ---------------------------------------------------------------- articles


@dataclass
class IngestResult:
    new: list[int] = field(default_factory=list)  # article ids created
    duplicates: int = 0  # items that joined an existing article (seen elsewhere or re-keyed)
    updated: int = 0  # items whose content changed at the same source
    unchanged: int = 0
    channels: set[str] = field(default_factory=set)  # channels to re-render
    deliveries: list[int] = field(default_factory=list)  # deliveries created
    errors: list[str] = field(default_factory=list)  # entries that could not be stored (rolled back alone)


def _find_article(session: Session, item: Item, source_id: str) -> int | None:
    """Exact duplicate: same global GUID, same canonical URL at another source, or same content."""
    if decide.guid_is_global(item.guid):
        hit = session.scalar(
            select(SightingRow.article_id)
            .where(SightingRow.guid_hash == decide.guid_hash(item.guid), SightingRow.source_id != source_id)
            .limit(1)
        )
        if hit is not None:
            return hit
    if item.canonical_url:
        # At another source only: two entries of one source are two articles even when their
        # links normalize to the same URL (their GUIDs differ, or they would share a key).
        url_hash = decide.url_hash(item.canonical_url)
        hit = session.scalar(
            select(SightingRow.article_id)
            .where(
                or_(SightingRow.url_hash == url_hash, SightingRow.guid_hash == url_hash),
                SightingRow.source_id != source_id,
            )
            .limit(1)
        )
        if hit is not None:
            return hit
    if not hashes_body_alone(item.content_text):
        return None  # a short notice ("详见附件") with the same title is not enough to be one article
    return session.scalar(
        select(SightingRow.article_id).where(SightingRow.content_hash == item.content_hash).limit(1)
    )


def _sighting_fields(item: Item) -> dict[str, object]:
    return {
        "guid": item.guid,
        "guid_hash": decide.guid_hash(item.guid),
        "url": item.url,
        "canonical_url": item.canonical_url,
        "url_hash": decide.url_hash(item.canonical_url),
        "title": item.title,
        "content_html": item.content_html,
        "content_text": item.content_text,
        "summary": item.summary,
        "author": item.author,
        "publisher": item.publisher,
        "published_at": item.published_at,
        "updated_at": item.updated_at,
        "categories": list(item.categories),
        "attachments": [a.to_json() for a in item.attachments],
        "content_hash": item.content_hash,
    }


def _refresh_article(session: Session, article: ArticleRow, now: datetime) -> bool:
    """Choose the article's original among its sightings and copy its fields. True if it changed."""
    rows = session.execute(
        select(SightingRow, SourceRow.priority, SourceRow.name)
        .join(SourceRow, SourceRow.id == SightingRow.source_id)
        .where(SightingRow.article_id == article.id)
    ).all()
    by_id = {s.id: (s, name) for s, _, name in rows}
    best = decide.choose_original(
        [decide.Candidate(s.id, prio, s.published_at, s.first_seen_at) for s, prio, _ in rows]
    )
    s, source_name = by_id[best.sighting_id]
    values = {
        "title": s.title,
        "url": s.canonical_url or s.url,
        "canonical_url": s.canonical_url,
        "content_html": s.content_html,
        "content_text": s.content_text,
        "summary": s.summary,
        "author": s.author,
        "publisher": s.publisher or source_name,
        "published_at": s.published_at,
        "updated_at": s.updated_at,
        "categories": s.categories,
        "attachments": s.attachments,
        "content_hash": s.content_hash,
        "source_id": s.source_id,
        "original_sighting_id": s.id,
        "sort_at": s.published_at or article.first_seen_at,
    }
    changed = False
    for key, value in values.items():
        if getattr(article, key) != value:
            setattr(article, key, value)
            changed = True
    if changed:
        article.changed_at = now
    return changed


def _ingest_one(
    session: Session,
    source: SourceRow,
    item: Item,
    channels: list[str],
    webhooks: list[WebhookConfig],
    config: Config,
    now: datetime,
    result: IngestResult,
    key: str,
) -> None:
    sighting = session.scalar(
        select(SightingRow).where(SightingRow.source_id == source.id, SightingRow.item_key == key)
    )
    if sighting is not None:
        sighting.last_seen_at = now
        fields = _sighting_fields(item)
        for k in ("published_at", "updated_at"):
            # A missing time, or a future time clamped to this poll's `now`, is no change.
            if fields[k] is None or (fields[k] == now and getattr(sighting, k) is not None):
                del fields[k]
        if any(getattr(sighting, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(sighting, k, v)
            article = session.get_one(ArticleRow, sighting.article_id)
            if _refresh_article(session, article, now):
                result.channels.update(channels_of_article(session, article.id, config))
            result.updated += 1
        else:
            result.unchanged += 1
        return
    article_id = _find_article(session, item, source.id)
    if article_id is None:
        article = ArticleRow(
            title=item.title,
            content_html="",
            content_text="",
            summary="",
            publisher=source.name,
            categories=[],
            attachments=[],
            content_hash=item.content_hash,
            source_id=source.id,
            sort_at=item.published_at or now,
            first_seen_at=now,
            changed_at=now,
        )
        session.add(article)
        session.flush()
        result.new.append(article.id)
    else:
        article = session.get_one(ArticleRow, article_id)
        result.duplicates += 1
    session.add(
        SightingRow(
            article_id=article.id,
            source_id=source.id,
            item_key=key,
            first_seen_at=now,
            last_seen_at=now,
            **_sighting_fields(item),
        )
    )
    session.flush()
    _refresh_article(session, article, now)
    result.channels.update(channels)
    if article_id is not None:
        # seen at one more place: the provenance (also_at) changed even if the original did not
        article.changed_at = now
        result.channels.update(channels_of_article(session, article.id, config))
    for hook in webhooks:
        delivery_id = ensure_delivery(
            session, hook.id, article.id, [c for c in channels if c in hook.channels], now
        )
        if delivery_id is not None:
            result.deliveries.append(delivery_id)


def ingest_items(
    session: Session, source: SourceRow, items: Iterable[Item], config: Config, now: datetime
) -> IngestResult:
    """Store a poll's normalized items: one article per distinct article, one sighting per place,
    and the outbox (channels to re-render, deliveries to send). Idempotent: re-ingesting the same
    items changes nothing. The caller holds the ingest lock (storage.db.transaction(serial=True))."""
    result = IngestResult()
    channels = [ch.id for ch in config.channels_for_source(source.id)]
    webhooks = [w for w in config.webhooks if set(w.channels) & set(channels)]
    keys: dict[str, str] = {}  # key -> content hash, in this poll
    for item in items:
        key = decide.item_key(item)
        if not key.startswith("guid:") and keys.get(key, item.content_hash) != item.content_hash:
            # entries without a GUID whose links are equal once normalized (page.html#n1, #n2, or one
            # list page for all): each is its own entry, told apart by its content
            key = f"{key[:400]}#{item.content_hash}"
        keys.setdefault(key, item.content_hash)
        one = IngestResult()
        try:
            with session.begin_nested():  # one bad entry rolls back alone
                _ingest_one(session, source, item, channels, webhooks, config, now, one, key)
        except SQLAlchemyError as e:
            what = item.guid or item.url or item.title[:60]
            result.errors.append(f"{what}: {type(e).__name__}: {getattr(e, 'orig', None) or e}"[:500])
            continue
        result.new += one.new
        result.duplicates += one.duplicates
        result.updated += one.updated
        result.unchanged += one.unchanged
        result.channels |= one.channels
        result.deliveries += one.deliveries
    mark_channels_dirty(session, sorted(result.channels), now)
    return result


def attachments_of(article: ArticleRow) -> tuple[Attachment, ...]:
    """The article's attachments as stored (a JSON list of Attachment.to_json); malformed entries are
    skipped rather than failing a render."""
    return tuple(
        Attachment.from_json(a)
        for a in article.attachments or ()
        if isinstance(a, dict) and isinstance(a.get("url"), str)
    )


def channels_of_article(session: Session, article_id: int, config: Config) -> set[str]:
    sources = set(session.scalars(select(SightingRow.source_id).where(SightingRow.article_id == article_id)))
    return {ch.id for ch in config.channels if any(ch.includes(s) for s in sources)}


def sightings_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[Sighting]]:
    out: dict[int, list[Sighting]] = {a: [] for a in article_ids}
    if not article_ids:
        return out
    rows = session.execute(
        select(SightingRow, SourceRow.name)
        .join(SourceRow, SourceRow.id == SightingRow.source_id)
        .where(SightingRow.article_id.in_(article_ids))
        .order_by(SightingRow.first_seen_at, SightingRow.id)
    ).all()
    for s, name in rows:
        out[s.article_id].append(
            Sighting(
                source_id=s.source_id,
                source_name=name,
                url=s.url,
                seen_at=s.first_seen_at,
                published_at=s.published_at,
            )
        )
    return out


def provenance_of(article: ArticleRow, sightings: Sequence[Sighting], source_name: str) -> Provenance:
    also = tuple(s for s in sightings if s.source_id != article.source_id)
    return Provenance(
        original_url=article.url,
        publisher=article.publisher,
        author=article.author,
        published_at=article.published_at,
        source_id=article.source_id,
        source_name=source_name,
        also_at=also,
    )


def channel_articles(session: Session, source_ids: Sequence[str] | None, limit: int) -> list[ArticleRow]:
    """Newest first; ``source_ids`` None means every source."""
    query = select(ArticleRow)
    if source_ids is not None:
        in_channel = select(SightingRow.article_id).where(SightingRow.source_id.in_(source_ids))
        query = query.where(ArticleRow.id.in_(in_channel))
    query = query.order_by(ArticleRow.sort_at.desc(), ArticleRow.id.desc()).limit(limit)
    return list(session.scalars(query))


# ---------------------------------------------------------------- channels


def mark_channels_dirty(session: Session, channel_ids: Sequence[str], now: datetime) -> None:
    """Request a re-render. A render clears the mark only if nobody marked it again meanwhile."""
    if channel_ids:
        session.execute(
            update(ChannelFeedRow).where(ChannelFeedRow.channel_id.in_(channel_ids)).values(dirty_since=now)
        )


def dirty_channels(session: Session, older_than: datetime | None = None) -> list[str]:
    query = select(ChannelFeedRow.channel_id).where(ChannelFeedRow.dirty_since.is_not(None))
    if older_than is not None:
        query = query.where(ChannelFeedRow.dirty_since <= older_than)
    return list(session.scalars(query))


# ---------------------------------------------------------------- deliveries


def ensure_delivery(
    session: Session,
    webhook_id: str,
    article_id: int,
    channels: list[str],
    now: datetime,
    event: str = "article.published",
) -> int | None:
    """Create the delivery unless one exists for (webhook, article, event). Returns the new id."""
    from syndication.publish.webhooks import new_message_id

    exists = session.scalar(
        select(DeliveryRow.id).where(
            DeliveryRow.webhook_id == webhook_id,
            DeliveryRow.article_id == article_id,
            DeliveryRow.event == event,
        )
    )
    if exists is not None:
        return None
    row = DeliveryRow(
        webhook_id=webhook_id,
        article_id=article_id,
        event=event,
        msg_id=new_message_id(),
        channels=channels,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def due_deliveries(session: Session, now: datetime, limit: int = 500) -> list[int]:
    lease_free = or_(DeliveryRow.lease_until.is_(None), DeliveryRow.lease_until <= now)
    return list(
        session.scalars(
            select(DeliveryRow.id)
            .where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now, lease_free)
            .order_by(DeliveryRow.next_attempt_at)
            .limit(limit)
        )
    )


def unfinished_polls(session: Session, older_than: datetime) -> list[int]:
    return list(
        session.scalars(
            select(PollRow.id).where(
                PollRow.status == "ok", PollRow.ingested_at.is_(None), PollRow.finished_at <= older_than
            )
        )
    )


def counts(session: Session) -> dict[str, int]:
    def n(q: object) -> int:
        return int(session.scalar(q) or 0)  # type: ignore[call-overload]

    return {
        "articles": n(select(func.count(ArticleRow.id))),
        "sightings": n(select(func.count(SightingRow.id))),
        "deliveries_pending": n(select(func.count(DeliveryRow.id)).where(DeliveryRow.status == "pending")),
        "deliveries_sent": n(select(func.count(DeliveryRow.id)).where(DeliveryRow.status == "sent")),
        "deliveries_dead": n(select(func.count(DeliveryRow.id)).where(DeliveryRow.status == "dead")),
    }
