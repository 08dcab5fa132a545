"""Time article extraction on generated worst-case pages near the 10 MB limit.

    .venv/bin/python benchmarks/extract_large_pages.py

Each page is generated in memory (no corpus needed) and extracted once with
``syndication.parse.page.extract_article``; the figure is wall-clock seconds and the body's length.
These are the shapes that made earlier versions slow: many paragraphs, deep nesting (libxml2 keeps
255 levels), no headline to anchor on, and one huge paragraph for the rights-notice patterns.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syndication.errors import ParseError
from syndication.parse.page import extract_article

HEAD = "<html><head><title>关于开展安全生产检查工作的通知_某某市应急管理局</title></head><body>"
H1 = "<h1>关于开展安全生产检查工作的通知</h1>"
S = "为切实做好安全生产工作，经研究决定，开展检查，请认真贯彻执行。"


def pages() -> dict[str, str]:
    deep = 250
    return {
        "50,000 paragraphs in one div": HEAD + H1 + "<div>" + "".join(f"<p>{S}{i}</p>" for i in range(50000)) + "</div></body></html>",
        "95,000 paragraphs in 250 nested divs": HEAD + H1 + "<div>" * deep + "".join(f"<p>{S}{i}</p>" for i in range(95000)) + "</div>" * deep + "</body></html>",
        "40,000 paragraphs in 250 nested divs, no headline": "<html><head><title>x</title></head><body>" + "<div>" * deep + "".join(f"<p>{S}{i}</p>" for i in range(40000)) + "</div>" * deep + "</body></html>",
        "one 9 MB English paragraph with 使用": HEAD + H1 + "<div><p>" + "lorem ipsum dolor sit amet " * 350000 + " 使用</p></div></body></html>",
    }  # fmt: skip


def main() -> None:
    print("| page | MB | seconds | body characters |")
    print("|---|---|---|---|")
    for name, html in pages().items():
        started = time.perf_counter()
        try:
            result = str(len(extract_article(html, url="https://www.example.gov.cn/a.html").content_text))
        except ParseError as e:
            result = f"ParseError: {e}"
        elapsed = time.perf_counter() - started
        print(f"| {name} | {len(html.encode()) / 1e6:.1f} | {elapsed:.1f} | {result} |")


if __name__ == "__main__":
    main()
