"""The ``syndication`` command.

syndication check                      validate the config; every problem with file, table, key
syndication db upgrade | current       migrations
syndication run [--once]               all in one: worker + beat + web (embedded broker if none)
syndication worker | beat | web        roles for a deployment
syndication feed CHANNEL --format rss  print a channel's current feed (rss, atom or json)
syndication sources                    every source's fetch state
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from pydantic import ValidationError
from sqlalchemy import func, select

from syndication import __version__, logs
from syndication.config import load_config
from syndication.errors import ConfigError, SyndicationError
from syndication.models import Config, FetchResult
from syndication.runtime import Runtime, utcnow
from syndication.settings import Settings
from syndication.storage import db, repo
from syndication.storage.tables import ChannelFeedRow, DeliveryRow, PollRow, SightingRow, SourceRow

log = logging.getLogger("syndication")


@dataclass
class Context:
    config_path: str | None

    def settings(self) -> Settings:
        if self.config_path:
            os.environ["SYNDICATION_CONFIG"] = str(Path(self.config_path).resolve())
        try:
            return Settings()
        except ValidationError as e:
            problems = "; ".join(
                f"SYNDICATION_{'_'.join(map(str, x['loc'])).upper()}: {x['msg']}" for x in e.errors()
            )
            raise click.ClickException(f"invalid settings: {problems}") from None

    def config(self, settings: Settings) -> Config:
        try:
            return load_config(settings.config)
        except ConfigError as e:
            for p in e.problems:
                click.echo(f"error: {p}", err=True)
            raise click.ClickException(
                f"{len(e.problems)} problem(s) in {settings.config}; fix them and try again "
                "(`syndication check` lists them)"
            ) from None

    def runtime(self, *, require_current: bool = True) -> Runtime:
        settings = self.settings()
        rt = Runtime.from_settings(settings, self.config(settings))
        if require_current:
            try:
                db.ensure_current(rt.engine)
            except SyndicationError as e:
                raise click.ClickException(str(e)) from None
        return rt


def export_env(settings: Settings, broker_url: str) -> dict[str, str]:
    """Settings as environment for child processes (workers, beat) and for this process's Celery app."""
    env = {
        "SYNDICATION_CONFIG": str(Path(settings.config).resolve()),
        "SYNDICATION_DATA_DIR": str(settings.data_dir.resolve()),
        "SYNDICATION_DATABASE_URL": settings.effective_database_url,
        "SYNDICATION_BROKER_URL": broker_url,
        "SYNDICATION_LISTEN": settings.listen,
    }
    os.environ.update(env)
    return {**os.environ, **env}


def kick(rt: Runtime) -> None:
    """Render every channel now and look for due sources, rather than at the first sweep."""
    from workers import tasks

    for ch in rt.config.channels:
        tasks.render_channel.delay(ch.id)
    tasks.schedule_due.delay()


def sync(rt: Runtime) -> None:
    with db.transaction(rt.sessions) as s:
        now = utcnow()
        repo.sync_sources(s, rt.config, now)
        repo.sync_channels(s, rt.config, now)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="the operator's TOML file (default: $SYNDICATION_CONFIG, else config/syndication.toml)",
)
@click.option("-v", "--verbose", is_flag=True, help="log at DEBUG level")
@click.version_option(__version__, prog_name="syndication")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Republish articles from official sources with proper attribution."""
    logs.setup(logging.DEBUG if verbose else logging.INFO)
    ctx.obj = Context(config_path)


@main.command()
@click.pass_obj
def check(ctx: Context) -> None:
    """Validate the config file; print every problem with where it is."""
    settings = ctx.settings()
    config = ctx.config(settings)
    click.echo(
        f"{settings.config}: ok ({len(config.sources)} sources, {len(config.channels)} channels, "
        f"{len(config.webhooks)} webhooks)"
    )


@main.group("db")
def db_group() -> None:
    """Database migrations."""


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(ctx: Context) -> None:
    """Migrate the database to the current schema."""
    settings = ctx.settings()
    ctx.config(settings)  # every command refuses an invalid config the same way
    engine = db.make_engine(settings.effective_database_url)
    try:
        before = db.current_revision(engine)
        db.upgrade(engine)
    except SyndicationError as e:
        raise click.ClickException(str(e)) from None
    click.echo(
        f"database {engine.url.render_as_string(hide_password=True)}: {before or 'empty'} -> {db.head_revision()}"
    )


@db_group.command("current")
@click.pass_obj
def db_current(ctx: Context) -> None:
    """Print the database's revision and the code's."""
    settings = ctx.settings()
    ctx.config(settings)
    engine = db.make_engine(settings.effective_database_url)
    click.echo(f"database: {db.current_revision(engine) or 'empty'}; code: {db.head_revision()}")


def _celery_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.app", *args]


def probe_broker(url: str) -> None:
    """Fail fast, with the URL, when the broker cannot be reached (before anything is claimed)."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
    except Exception as e:
        shown = Connection(url).as_uri()  # password masked
        raise click.ClickException(f"cannot reach the broker at {shown}: {e}") from None


def _require_broker(settings: Settings) -> str:
    if settings.broker_url:
        probe_broker(settings.broker_url)
        return settings.broker_url
    from syndication.embedded import EmbeddedBroker

    broker = EmbeddedBroker(settings.data_dir / "broker", settings.embedded_broker_socket)
    if broker.alive():
        return broker.url
    raise click.ClickException(
        "no broker: set SYNDICATION_BROKER_URL (e.g. redis://127.0.0.1:6379/0), "
        "or use `syndication run`, which starts an embedded one"
    )


@main.command()
@click.option("--queues", default="poll,process,publish", show_default=True)
@click.option("--concurrency", "-c", type=int, default=None, help="worker processes (default: CPU count)")
@click.option("--loglevel", default="info", show_default=True)
@click.pass_obj
def worker(ctx: Context, queues: str, concurrency: int | None, loglevel: str) -> None:
    """Run a Celery worker (the database must be migrated)."""
    rt = ctx.runtime()
    env = export_env(rt.settings, _require_broker(rt.settings))
    argv = _celery_argv("worker", "-Q", queues, "-l", loglevel)
    if concurrency:
        argv += ["-c", str(concurrency)]
    rt.close()
    os.execve(sys.executable, argv, env)


@main.command()
@click.option("--pidfile", default=None)
@click.option("--loglevel", default="info", show_default=True)
@click.pass_obj
def beat(ctx: Context, pidfile: str | None, loglevel: str) -> None:
    """Run Celery beat: finds due sources in the database every few seconds (run exactly one)."""
    rt = ctx.runtime()
    sync(rt)
    env = export_env(rt.settings, _require_broker(rt.settings))
    schedule = rt.settings.data_dir.resolve() / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    kick(rt)
    argv = _celery_argv("beat", "-l", loglevel, "-s", str(schedule))
    if pidfile:
        argv += ["--pidfile", pidfile]
    rt.close()
    os.execve(sys.executable, argv, env)


def serve_web(rt: Runtime) -> None:
    import uvicorn

    from syndication.web.app import create_app

    uvicorn.run(create_app(rt), host=rt.settings.host, port=rt.settings.port, log_level="warning")


@main.command()
@click.pass_obj
def web(ctx: Context) -> None:
    """Serve the feeds (and /healthz) on SYNDICATION_LISTEN."""
    rt = ctx.runtime()
    sync(rt)
    click.echo(f"serving feeds on {rt.settings.base_url}/")
    serve_web(rt)


@contextmanager
def _children() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@main.command()
@click.option("--once", is_flag=True, help="poll every source once, process, publish, deliver, then exit")
@click.option(
    "--timeout",
    type=float,
    default=300.0,
    show_default=True,
    help="with --once: the longest to wait for the queued work",
)
@click.option("--concurrency", "-c", type=int, default=2, show_default=True, help="worker processes")
@click.pass_obj
def run(ctx: Context, once: bool, timeout: float, concurrency: int) -> None:
    """All in one: a Celery worker and beat (on an embedded broker unless SYNDICATION_BROKER_URL is
    set), SQLite in the data folder unless SYNDICATION_DATABASE_URL is set, and the web app."""
    settings = ctx.settings()
    config = ctx.config(settings)
    rt = Runtime.from_settings(settings, config)
    try:
        before = db.current_revision(rt.engine)
        if before != db.head_revision():
            db.upgrade(rt.engine)
            click.echo(f"database migrated: {before or 'empty'} -> {db.head_revision()}")
    except SyndicationError as e:
        raise click.ClickException(str(e)) from None
    broker = None
    broker_url = settings.broker_url
    if broker_url:
        probe_broker(broker_url)
    sync(rt)
    if not broker_url:
        from syndication.embedded import EmbeddedBroker

        try:
            broker = EmbeddedBroker(settings.data_dir / "broker", settings.embedded_broker_socket).start()
        except SyndicationError as e:
            raise click.ClickException(str(e)) from None
        broker_url = broker.url
    env = export_env(settings, broker_url)
    log_dir = settings.data_dir.resolve() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _children() as procs:
            if once:  # deliveries wait until every source is ingested (see run_once)
                env["SYNDICATION_WEBHOOK_HOLD"] = "1"
            worker_log = (log_dir / "worker.log").open("ab")
            procs.append(
                subprocess.Popen(
                    _celery_argv(
                        "worker",
                        "-Q",
                        "poll,process,publish",
                        "-c",
                        str(concurrency),
                        "-l",
                        "info",
                        "-n",
                        f"run-{os.getpid()}@%h",
                        "--without-mingle",
                        "--without-gossip",
                    ),
                    env=env,
                    stdout=worker_log,
                    stderr=subprocess.STDOUT,
                )
            )
            if once:
                code = run_once(rt, timeout=timeout, worker=procs[0])
                sys.exit(code)
            kick(rt)
            beat_log = (log_dir / "beat.log").open("ab")
            procs.append(
                subprocess.Popen(
                    _celery_argv(
                        "beat", "-l", "info", "-s", str(settings.data_dir.resolve() / "celerybeat-schedule")
                    ),
                    env=env,
                    stdout=beat_log,
                    stderr=subprocess.STDOUT,
                )
            )
            where = "embedded broker " + broker_url if broker else broker_url
            click.echo(f"syndication {__version__}: worker and beat on {where}; logs in {log_dir}")
            for ch in config.channels:
                feeds = f"{settings.base_url}/feeds/{ch.id}"
                click.echo(f"  {ch.id}: {feeds}.rss  {feeds}.atom  {feeds}.json")
            click.echo(f"serving on {settings.base_url}/ (Ctrl-C to stop)")
            serve_web(rt)
    finally:
        if broker is not None:
            broker.stop()
        rt.close()


def run_once(rt: Runtime, *, timeout: float, worker: subprocess.Popen[bytes]) -> int:
    """Poll every source now and wait until every poll is ingested; then release the deliveries (so
    each payload names the original chosen among every source's copy) and wait until channels are
    rendered and deliveries are sent, dead, or next due after the deadline. Work left over from an
    earlier run (a poll not ingested, a channel not rendered, a delivery due) is picked up too."""
    from workers import tasks

    started = utcnow()
    deadline = time.monotonic() + timeout
    with db.transaction(rt.sessions) as s:
        ids = repo.claim_sources(s, [src.id for src in rt.config.sources], started, lease=_lease(rt))
    for source_id in ids:
        tasks.poll_source.delay(source_id)
    for ch in rt.config.channels:
        tasks.render_channel.delay(ch.id)

    def wait(done: Callable[[], bool], sweep: Callable[[], None]) -> bool:
        last_sweep = time.monotonic()
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise click.ClickException(
                    f"the worker exited ({worker.returncode}); see its log in the data folder"
                )
            if done():
                return True
            if time.monotonic() - last_sweep > 5:
                sweep()
                last_sweep = time.monotonic()
            time.sleep(0.2)
        return False

    def sweep_polls() -> None:
        with rt.sessions() as s:
            for poll_id in repo.unfinished_polls(s, utcnow() - timedelta(seconds=5)):
                tasks.ingest.delay(poll_id)

    def sweep_rest() -> None:
        now = utcnow()
        with rt.sessions() as s:
            channels = repo.dirty_channels(s, now - timedelta(seconds=5))
            overdue = repo.due_deliveries(s, now - timedelta(seconds=10))
        for channel_id in channels:
            tasks.render_channel.delay(channel_id)
        for delivery_id in overdue:
            tasks.deliver.delay(delivery_id)

    sweep_polls()
    done = wait(lambda: _polls_done(rt, ids, started), sweep_polls)
    if done:
        release_deliveries(rt, tasks.deliver)
        until = utcnow() + timedelta(seconds=max(0.0, deadline - time.monotonic()))
        done = wait(lambda: _publish_done(rt, until), sweep_rest)
    summary = _summary(rt, started)
    click.echo(
        f"sources polled: {summary['polled']} ({summary['failed']} failed); new articles: {summary['new']}; "
        f"duplicates: {summary['duplicates']}; deliveries sent: {summary['sent']}, failed: {summary['dead']}"
        + (f", still retrying: {summary['pending']}" if summary["pending"] else "")
    )
    for source_id, error in summary["errors"]:
        click.echo(f"  failed: {source_id}: {error}", err=True)
    with rt.sessions() as s:
        for channel_id, error in s.execute(
            select(ChannelFeedRow.channel_id, ChannelFeedRow.error).where(ChannelFeedRow.error.is_not(None))
        ):
            click.echo(f"  feed {channel_id} not rendered: {error}", err=True)
    for ch in rt.config.channels:
        click.echo(
            f"  feed {ch.id}: {rt.settings.base_url}/feeds/{ch.id}.rss (or `syndication feed {ch.id}`)"
        )
    if summary["pending"]:
        click.echo(
            f"  {summary['pending']} deliveries are due again after this run; the next run or a "
            "running `syndication run` retries them (they stay in the database)",
            err=True,
        )
    if not done:
        click.echo(
            f"gave up waiting after {timeout:.0f}s; unfinished work stays in the database for the next run",
            err=True,
        )
        return 3
    return 0


def release_deliveries(rt: Runtime, deliver: Any) -> None:
    """Enqueue every pending delivery: now when due, else at its next attempt."""
    now = utcnow()
    with rt.sessions() as s:
        rows = s.execute(
            select(DeliveryRow.id, DeliveryRow.next_attempt_at).where(DeliveryRow.status == "pending")
        ).all()
    for delivery_id, at in rows:
        wait_s = max(0.0, (at - now).total_seconds()) if at else 0.0
        deliver.apply_async((delivery_id,), countdown=wait_s)


def _lease(rt: Runtime) -> timedelta:
    return timedelta(seconds=rt.settings.poll_lease_seconds)


def _polls_done(rt: Runtime, source_ids: list[str], started: datetime) -> bool:
    with rt.sessions() as s:
        polled = s.scalar(
            select(func.count(func.distinct(PollRow.source_id))).where(
                PollRow.source_id.in_(source_ids), PollRow.started_at >= started
            )
        )
        if (polled or 0) < len(source_ids):
            return False
        return not s.scalar(
            select(func.count(PollRow.id)).where(PollRow.status == "ok", PollRow.ingested_at.is_(None))
        )


def _publish_done(rt: Runtime, until: datetime) -> bool:
    """Channels rendered; every delivery sent, dead, or not due again before ``until``."""
    with rt.sessions() as s:
        dirty = s.scalar(
            select(func.count()).select_from(ChannelFeedRow).where(ChannelFeedRow.dirty_since.is_not(None))
        )
        if dirty:
            return False
        return not s.scalar(
            select(func.count(DeliveryRow.id)).where(
                DeliveryRow.status == "pending",
                (DeliveryRow.next_attempt_at.is_(None)) | (DeliveryRow.next_attempt_at <= until),
            )
        )


def _summary(rt: Runtime, started: datetime) -> dict[str, Any]:
    with rt.sessions() as s:
        polls = list(s.scalars(select(PollRow).where(PollRow.started_at >= started)))
        latest: dict[str, PollRow] = {}
        for p in polls:
            latest[p.source_id] = p
        deliveries = list(
            s.scalars(
                select(DeliveryRow).where(
                    (DeliveryRow.created_at >= started) | (DeliveryRow.last_attempt_at >= started)
                )
            )
        )
    return {
        "polled": len(latest),
        "failed": sum(1 for p in latest.values() if p.status == "error"),
        "errors": [(p.source_id, p.error) for p in latest.values() if p.status == "error"],
        "new": sum(p.new_articles for p in polls),
        "duplicates": sum(p.duplicates for p in polls),
        "sent": sum(1 for d in deliveries if d.status == "sent"),
        "dead": sum(1 for d in deliveries if d.status == "dead"),
        "pending": sum(1 for d in deliveries if d.status == "pending"),
    }


@main.command()
@click.argument("channel")
@click.option("--format", "fmt", type=click.Choice(["rss", "atom", "json"]), default="rss", show_default=True)
@click.pass_obj
def feed(ctx: Context, channel: str, fmt: str) -> None:
    """Print CHANNEL's current feed to stdout."""
    from syndication import pipeline

    rt = ctx.runtime()
    if rt.config.channel(channel) is None:
        known = ", ".join(c.id for c in rt.config.channels) or "none"
        raise click.ClickException(f"no channel {channel!r} in {rt.settings.config} (channels: {known})")
    sync(rt)
    pipeline.render(rt, channel)
    with rt.sessions() as s:
        row = s.get_one(ChannelFeedRow, channel)
        body, error = getattr(row, fmt), row.error
    if error:
        raise click.ClickException(f"channel {channel!r} cannot be rendered: {error}")
    sys.stdout.buffer.write(body)
    sys.stdout.flush()


@main.command()
@click.pass_obj
def sources(ctx: Context) -> None:
    """Every source's fetch state: last poll, status, error, next poll."""
    rt = ctx.runtime()
    with rt.sessions() as s:
        rows = list(s.scalars(select(SourceRow).order_by(SourceRow.id)))
    if not rows:
        click.echo("no sources yet (run `syndication run --once`)")
    for r in rows:
        state = r.last_status or "never polled"
        if not r.enabled:
            state = "disabled"
        click.echo(
            f"{r.id:20} {state:14} failures={r.consecutive_failures} "
            f"last={r.last_polled_at:%Y-%m-%d %H:%M:%S}Z"
            if r.last_polled_at
            else f"{r.id:20} {state}",
            nl=False,
        )
        click.echo(f" next={r.next_poll_at:%Y-%m-%d %H:%M:%S}Z")
        if not r.enabled:
            click.echo(f"{'':20} disabled: {r.disabled_reason or 'not in the config any more'}")
        if r.last_error:
            click.echo(f"{'':20} error: {r.last_error}")


@main.command()
@click.option(
    "--status", type=click.Choice(["pending", "sent", "dead", "all"]), default="all", show_default=True
)
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_obj
def deliveries(ctx: Context, status: str, limit: int) -> None:
    """Webhook deliveries, newest first: state, attempts, last answer or error (dead letters stay)."""
    rt = ctx.runtime()
    with rt.sessions() as s:
        query = select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit)
        if status != "all":
            query = query.where(DeliveryRow.status == status)
        rows = list(s.scalars(query))
    if not rows:
        click.echo("no deliveries" + ("" if status == "all" else f" with status {status}"))
    for d in rows:
        answer = d.last_status_code if d.last_status_code is not None else "-"
        when = (
            f" next={d.next_attempt_at:%Y-%m-%d %H:%M:%S}Z"
            if d.status == "pending" and d.next_attempt_at
            else ""
        )
        click.echo(
            f"{d.id:>6} {d.webhook_id:16} article={d.article_id:<6} {d.status:8} attempts={d.attempts} "
            f"last={answer} id={d.msg_id}{when}"
        )
        if d.last_error and d.status != "sent":
            click.echo(f"{'':7}error: {d.last_error}")


@main.command()
@click.argument("source_id")
@click.pass_obj
def preview(ctx: Context, source_id: str) -> None:
    """Fetch SOURCE_ID now and show what would be ingested (links found, each article's fields);
    nothing is stored."""
    from syndication.pages import poll_page_source
    from syndication.parse.feed import parse_feed

    rt = ctx.runtime()
    source = rt.config.source(source_id)
    if source is None:
        known_ids = ", ".join(s.id for s in rt.config.sources) or "none"
        raise click.ClickException(f"no source {source_id!r} in {rt.settings.config} (sources: {known_ids})")
    broker = None
    if not rt.settings.broker_url:
        from syndication.embedded import EmbeddedBroker

        broker = EmbeddedBroker(rt.settings.data_dir / "broker", rt.settings.embedded_broker_socket)
        if not broker.alive():
            broker.start()
        else:
            broker = None
    else:
        probe_broker(rt.settings.broker_url)
    try:
        gate = rt.gate
        if gate is None:
            raise click.ClickException("no Redis broker for the politeness gate")
        click.echo(f"source {source.id} ({source.kind}): {source.url}")
        try:
            if source.kind == "feed":
                result = gate.fetch(source.url, rate=source.rate, robots=source.robots)
                parsed = parse_feed(result.content, url=result.url, content_type=result.content_type)
                click.echo(f"{parsed.format} feed, {len(parsed.items)} entries")
                for item in parsed.items:
                    click.echo(f"  - {item.title}  {item.url or item.guid or ''}  {item.published or ''}")
                return
            with rt.sessions() as s:
                known = {
                    u
                    for u in s.scalars(select(SightingRow.url).where(SightingRow.source_id == source.id))
                    if u
                }
                row = s.get(SourceRow, source.id)
                first = row is None or row.last_success_at is None
            found = poll_page_source(
                gate,
                source,
                url=source.url,
                etag=None,
                last_modified=None,
                known=lambda urls: known & set(urls),
                first_poll=first,
            )
        except SyndicationError as e:
            raise click.ClickException(str(e)) from None
        assert not isinstance(found, FetchResult)
        click.echo(
            f"links found: {len(found.links)} (new: {len(found.new_links)}"
            + (f"; first poll: at most {source.backfill}" if first else "")
            + ")"
        )
        zone = ZoneInfo(source.timezone)  # list dates are kept in UTC; shown as the site wrote them
        for link in found.links:
            mark = "new" if link in found.new_links else "seen"
            click.echo(
                f"  [{mark}] {link.title}  {link.url}  {link.date.astimezone(zone):%Y-%m-%d}"
                if link.date
                else f"  [{mark}] {link.title}  {link.url}"
            )
        for link, article in found.articles:
            data = article.to_json(tz=source.timezone)
            click.echo(f"article {link.url}")
            click.echo(f"  title：{data['title']}")
            click.echo(f"  发布时间：{data['published']}")
            click.echo(f"  来源：{data['source'] or source.name}")
            click.echo(f"  作者：{data['author'] or '佚名'}")
            click.echo(f"  栏目：{data['category'] or '-'}")
            text = (data["content_text"] or "").replace("\n", " ")
            click.echo(f"  正文：{text[:120]}{'…' if len(text) > 120 else ''}")
            if data["rights_notice"]:
                click.echo(f"  版权声明：{data['rights_notice']}")
        for error in found.errors:
            click.echo(f"error: {error}")
    finally:
        if broker is not None:
            broker.stop()


from syndication.extract_cli import extract  # noqa: E402  (a command of its own module)

main.add_command(extract)

if __name__ == "__main__":
    main()
