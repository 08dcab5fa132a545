"""syndication: republish articles from official sources with proper attribution.

The update pipeline, once, as a pipe::

    beat: schedule_due()           sources whose next_poll_at <= now (a lease is written, then enqueued)
      -> poll queue:    poll_source(source_id)
           fetch (conditional GET, caps) -> parse (feed -> RawItem) -> store a Poll row with the raw items
      -> process queue: ingest(poll_id)
           normalize -> sanitize (last) -> dedupe (exact) -> decide -> store, one transaction
           -> outbox: channels marked dirty, Delivery rows          (enqueued after commit)
      -> publish queue: render_channel(channel_id)  feed bytes + ETag stored
                        deliver(delivery_id)         signed POST, retry with backoff, dead letter

Stages in ``syndication.fetch``, ``parse``, ``process`` and ``publish`` are functions over the plain
dataclasses of :mod:`syndication.models`; I/O lives in ``fetch.http``, ``storage`` and ``publish.webhooks``.
"""

__version__ = "0.1.0"
USER_AGENT = f"syndication/{__version__} (+https://github.com/syndication/syndication)"
