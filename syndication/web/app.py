"""The web app: stored feeds with ETag / Last-Modified / 304, a health check, a small index.

Feeds are rendered by the ``publish`` queue and stored; a request only reads bytes from the database.
"""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime
from html import escape

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from syndication import __version__
from syndication.errors import SyndicationError
from syndication.publish.feeds import FEED_MEDIA_TYPES
from syndication.runtime import Runtime
from syndication.storage import db
from syndication.storage.tables import ChannelFeedRow


def _not_modified(request: Request, etag: str, last_modified: str | None) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags
    ims = request.headers.get("if-modified-since")
    if ims and last_modified:
        try:
            return parsedate_to_datetime(ims) >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title="syndication", version=__version__, docs_url="/api/docs", openapi_url="/api/openapi.json"
    )
    app.state.runtime = rt

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            db.ping(rt.engine)
            db.ensure_current(rt.engine)
        except SyndicationError as e:
            return JSONResponse({"status": "error", "error": str(e)}, status_code=503)
        except Exception as e:
            return JSONResponse({"status": "error", "error": f"database: {e}"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    @app.api_route("/feeds/{name}", methods=["GET", "HEAD"], response_model=None)
    def feed(name: str, request: Request) -> Response:
        channel_id, _, fmt = name.rpartition(".")
        if fmt not in FEED_MEDIA_TYPES or rt.config.channel(channel_id) is None:
            return JSONResponse({"error": f"no feed {name!r}"}, status_code=404)
        with rt.sessions() as s:
            row = s.get(ChannelFeedRow, channel_id)
            body = getattr(row, fmt) if row else None
            etag = getattr(row, f"{fmt}_etag") if row else None
            changed = row.content_changed_at if row else None
        if body is None or etag is None:
            return JSONResponse(
                {"error": f"the feed of channel {channel_id!r} has not been rendered yet"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        last_modified = format_datetime(changed, usegmt=True) if changed else None
        headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
        if last_modified:
            headers["Last-Modified"] = last_modified
        if _not_modified(request, etag, last_modified):
            return Response(status_code=304, headers=headers)
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(media_type=FEED_MEDIA_TYPES[fmt], headers=headers)
        return Response(content=body, media_type=FEED_MEDIA_TYPES[fmt], headers=headers)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        rows = "".join(
            f'<li>{escape(c.title)} ({escape(c.id)}): <a href="/feeds/{escape(c.id)}.rss">RSS</a> · '
            f'<a href="/feeds/{escape(c.id)}.atom">Atom</a> · '
            f'<a href="/feeds/{escape(c.id)}.json">JSON Feed</a></li>'
            for c in rt.config.channels
        )
        return (
            '<!doctype html><meta charset="utf-8"><title>syndication</title>'
            f"<h1>syndication {__version__}</h1><ul>{rows or '<li>no channels configured</li>'}</ul>"
        )

    return app
