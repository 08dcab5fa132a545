"""``syndication extract PATH --url URL [--json] [--tz Asia/Shanghai]``: extract a saved page offline.

With ``--json`` exactly one JSON object is printed, with exactly the keys ``title``, ``url``,
``published`` (ISO 8601 with the offset of ``--tz``), ``source``, ``author``, ``category``,
``content_text``, ``content_html``, ``rights_notice`` (null where unknown); ``--full`` adds ``editor``,
``attachments`` and ``images``. Without ``--json``, a readable summary of everything. A page that cannot
be extracted is a clear error and a non-zero exit status.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from syndication.errors import ParseError
from syndication.parse.page import MAX_PAGE_BYTES, extract_article
from syndication.process.normalize import parse_datetime

__all__ = ["extract"]

_SUMMARY_CHARS = 600


@click.command("extract")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", required=True, help="The URL the page was fetched from (resolves relative links).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
@click.option("--full", is_flag=True, help="With --json: add editor, attachments and images.")
@click.option("--tz", default="Asia/Shanghai", show_default=True, help="Zone for times without an offset.")
@click.option("--content-type", default=None, help="The HTTP Content-Type, when known (its charset counts).")
def extract(path: Path, url: str, as_json: bool, full: bool, tz: str, content_type: str | None) -> None:
    """Extract the article of a saved HTML page PATH ("-" reads standard input) and print it."""
    try:
        parse_datetime("2000-01-01", tz=tz)  # validates the zone name
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    content = _read(path)
    try:
        article = extract_article(content, url=url, content_type=content_type, tz=tz)
    except ParseError as e:
        raise click.ClickException(f"{path}: {e}") from e
    if as_json:
        click.echo(json.dumps(article.to_json(tz, full=full), ensure_ascii=False))
        return
    data = article.to_json(tz, full=True)
    for key in ("title", "url", "published", "source", "author", "editor", "category", "rights_notice"):
        click.echo(f"{key + ':':15}{data[key] if data[key] is not None else '-'}")
    for key in ("attachments", "images"):
        click.echo(f"{key + ':':15}{len(data[key])}")
        for link in data[key]:
            if isinstance(link, dict):
                click.echo(f"  {link['url']}" + (f"  ({link['title']})" if link["title"] else ""))
            else:
                click.echo(f"  {link}")
    text = article.content_text
    click.echo(f"{'text:':15}{len(text)} characters\n")
    click.echo(text[:_SUMMARY_CHARS] + (" ..." if len(text) > _SUMMARY_CHARS else ""))


def _read(path: Path) -> bytes:
    if str(path) == "-":
        content = sys.stdin.buffer.read(MAX_PAGE_BYTES + 1)
    else:
        try:
            with path.open("rb") as f:
                content = f.read(MAX_PAGE_BYTES + 1)
        except OSError as e:
            raise click.ClickException(f"cannot read {path}: {e.strerror or e}") from e
    if len(content) > MAX_PAGE_BYTES:
        raise click.ClickException(f"{path}: page too large (more than {MAX_PAGE_BYTES:,} bytes)")
    return content
