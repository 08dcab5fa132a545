"""attribution: the shipped zh/en templates, escaping, operator templates, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndication.models import Provenance, Sighting
from syndication.process.attribution import (
    DEFAULT_DISCLAIMERS,
    TemplateError,
    TemplateNotFound,
    available_templates,
    render_attribution,
)
from syndication.process.sanitize import sanitize_html

ORIGINAL = "https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml"
PUBLISHER = "中华人民共和国最高人民检察院"
ZH_DISCLAIMER = (
    "本文来源于网络转载，仅供学习交流使用，不构成商业目的。版权归原作者所有，如涉及作品内容、版权和其它问题，"
    "请在30日内与本网联系，我们将在第一时间处理。"
)
# The start of the seed article (shared/seed/reprint-example.txt), as the source's HTML.
SEED_BODY = sanitize_html(
    "<p>　　激活内驱力 人人尽展其才</p>"
    "<p>　　湖北:以高质量人才队伍建设助推检察工作现代化</p>"
    "<p>　　近日,湖北省鄂州市梁子湖区检察院迎来一批“特别的老师”——湖北省检察机关“浚源青蓝”巡讲团。</p>"
    "<p>　　(记者戴小巍 通讯员阮彬)</p>",
    base_url=ORIGINAL,
)
SEED_TITLE = "湖北:以高质量人才队伍建设助推检察工作现代化"


def provenance(**changes: object) -> Provenance:
    fields: dict[str, object] = {
        "original_url": ORIGINAL,
        "publisher": PUBLISHER,
        "author": None,
        "published_at": datetime(2023, 12, 3, 1, 15, tzinfo=UTC),  # 09:15 Beijing time
        "source_id": "spp",
        "source_name": "最高人民检察院",
        "also_at": (),
    }
    fields.update(changes)
    return Provenance(**fields)  # type: ignore[arg-type]


def render(template: str = "zh", **kwargs: object) -> tuple[str, str]:
    args: dict[str, object] = {
        "title": SEED_TITLE,
        "body_html": SEED_BODY,
        "provenance": provenance(),
        "template": template,
        "disclaimer": None,
    }
    args.update(kwargs)
    return render_attribution(**args)  # type: ignore[arg-type]


def test_zh_default_disclaimer_is_the_seed_text() -> None:
    assert DEFAULT_DISCLAIMERS["zh"] == ZH_DISCLAIMER
    assert DEFAULT_DISCLAIMERS["en"].startswith("This article is reprinted")


def test_zh_text_has_every_line_of_the_seed() -> None:
    _, text = render()
    lines = text.splitlines()
    for line in (
        "发布时间：2023-12-03 09:15",
        f"来源：{PUBLISHER}",
        "作者：佚名",
        f"原文链接：{ORIGINAL}",
        f"[免责声明] {ZH_DISCLAIMER}",
        "激活内驱力 人人尽展其才",
        "(记者戴小巍 通讯员阮彬)",
    ):
        assert line in lines, (line, text)
    # header, then body, then link, then disclaimer
    order = [text.index(s) for s in ("发布时间", "激活内驱力", "(记者戴小巍", "原文链接", "[免责声明]")]
    assert order == sorted(order)


def test_zh_html_is_structured() -> None:
    html, _ = render()
    header = '<div class="syndication-attribution syndication-header">'
    footer = '<div class="syndication-attribution syndication-footer">'
    assert header in html and footer in html
    assert html.index(header) < html.index("激活内驱力") < html.index(footer)
    assert "发布时间：2023-12-03 09:15" in html
    assert f"来源：{PUBLISHER}" in html
    assert "作者：佚名" in html
    assert f'原文链接：<a href="{ORIGINAL}" rel="noopener noreferrer nofollow">{ORIGINAL}</a>' in html
    assert f"[免责声明] {ZH_DISCLAIMER}" in html
    assert SEED_BODY in html  # the sanitized body goes in unescaped


def test_en_template() -> None:
    html, text = render("en", provenance=provenance(author="Dai Xiaowei"))
    lines = text.splitlines()
    assert "Published: 2023-12-03 09:15" in lines
    assert f"Source: {PUBLISHER}" in lines
    assert "Author: Dai Xiaowei" in lines
    assert f"Original: {ORIGINAL}" in lines
    assert f"[Disclaimer] {DEFAULT_DISCLAIMERS['en']}" in lines
    assert f'<a href="{ORIGINAL}"' in html
    _, anonymous = render("en")
    assert "Author: Anonymous" in anonymous.splitlines()


def test_missing_time_and_link_are_omitted() -> None:
    html, text = render(provenance=provenance(published_at=None, original_url=None))
    assert "发布时间" not in html and "发布时间" not in text
    assert "原文链接" not in html and "原文链接" not in text
    assert f"来源：{PUBLISHER}" in text.splitlines()


def test_time_shown_in_the_given_zone() -> None:
    _, text = render(tz="UTC")
    assert "发布时间：2023-12-03 01:15" in text.splitlines()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "/relative"])
def test_only_http_links_are_rendered(url: str) -> None:
    html, text = render(provenance=provenance(original_url=url))
    assert url not in html and "原文链接" not in text


def test_autoescape() -> None:
    evil = provenance(publisher="<script>alert(1)</script>", author='"><img src=x onerror=alert(1)>')
    html, text = render(provenance=evil, title="<script>t</script>")
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "来源：<script>alert(1)</script>" in text.splitlines()  # text is text: not escaped


@pytest.mark.parametrize(
    ("disclaimer", "template", "expected"),
    [
        ("自定义声明。", "zh", "[免责声明] 自定义声明。"),
        (None, "en", f"[Disclaimer] {DEFAULT_DISCLAIMERS['en']}"),
    ],
)
def test_disclaimer_choice(disclaimer: str | None, template: str, expected: str) -> None:
    _, text = render(template, disclaimer=disclaimer)
    assert expected in text.splitlines()


def test_empty_disclaimer_omits_the_line() -> None:
    html, text = render(disclaimer="")
    assert "免责声明" not in html and "免责声明" not in text


def write(folder: Path, name: str, body: str) -> None:
    (folder / name).write_text(body, encoding="utf-8")


def test_operator_template_adds_and_overrides(tmp_path: Path) -> None:
    write(
        tmp_path,
        "zh.html.j2",
        '<p class="mine">{{ publisher }}|{{ published_str }}</p>{{ body_html | safe }}',
    )
    write(
        tmp_path,
        "brief.html.j2",
        "<p>{{ title }} / {{ source_name }} / {{ also_at | length }} / {{ disclaimer }}</p>",
    )
    dirs = (str(tmp_path),)
    html, text = render("zh", template_dirs=dirs)
    assert html.startswith(f'<p class="mine">{PUBLISHER}|2023-12-03 09:15</p>')
    # The shipped zh.txt.j2 is not paired with the operator's zh.html.j2: text is derived from the HTML.
    assert text.splitlines()[0] == f"{PUBLISHER}|2023-12-03 09:15"
    assert "[免责声明]" not in text

    seen = Sighting(
        source_id="b", source_name="B", url="https://b.example/x", seen_at=datetime(2023, 12, 4, tzinfo=UTC)
    )
    html, _ = render("brief", template_dirs=dirs, provenance=provenance(also_at=(seen,)), title="A & B")
    assert (
        html.strip() == f"<p>A &amp; B / 最高人民检察院 / 1 / {ZH_DISCLAIMER}</p>"
    )  # unknown name: zh default

    assert available_templates(dirs) == ["brief", "en", "zh"]
    assert available_templates(()) == ["en", "zh"]
    assert available_templates((str(tmp_path / "missing"),)) == ["en", "zh"]


def test_operator_text_template_in_the_same_folder(tmp_path: Path) -> None:
    write(tmp_path, "plain.html.j2", "<p>{{ publisher }}</p>")
    write(tmp_path, "plain.txt.j2", "SOURCE={{ publisher }} <raw>\n\n\n\nEND   ")
    _, text = render("plain", template_dirs=(str(tmp_path),))
    assert text == f"SOURCE={PUBLISHER} <raw>\n\nEND"  # text templates are not escaped


@pytest.mark.parametrize("name", ["nope", "../zh", "zh.html", ""])
def test_unknown_template_is_a_clear_error(name: str) -> None:
    with pytest.raises(TemplateNotFound, match="template") as info:
        render(name)
    assert repr(name) in str(info.value)


def test_unknown_template_lists_the_available_ones(tmp_path: Path) -> None:
    with pytest.raises(TemplateNotFound, match=r"available: en, zh"):
        render("nope", template_dirs=(str(tmp_path),))


@pytest.mark.parametrize(
    "source",
    ["{{ publisher ", "{{ no_such_variable }}", "{{ published.nope() }}"],
)
def test_broken_operator_template_is_a_template_error(tmp_path: Path, source: str) -> None:
    write(tmp_path, "bad.html.j2", source)
    with pytest.raises(TemplateError, match="'bad'"):
        render("bad", template_dirs=(str(tmp_path),))


def test_unknown_timezone() -> None:
    with pytest.raises(ValueError, match="Mars/Base"):
        render(tz="Mars/Base")
