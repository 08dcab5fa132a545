"""The operator's TOML: accepted keys, and every problem reported with where it is."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest

from syndication.config import load_config, parse_duration
from syndication.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()

VALID = f"""
[[sources]]
id = "spp"
name = "最高人民检察院"
kind = "feed"
url = "https://www.spp.gov.cn/rss.xml"
interval = "15m"
priority = 10
timezone = "Asia/Shanghai"

[[sources]]
id = "mirror-1"
name = "Mirror"
url = "https://mirror.example/feed"

[[channels]]
id = "news"
title = "检察要闻"
description = "..."
sources = ["spp"]
template = "zh"
limit = 50

[[channels]]
id = "all"
title = "All"
sources = ["*"]
template = "en"

[[webhooks]]
id = "downstream"
url = "https://example.org/hook"
channels = ["news"]
secret = "{SECRET}"

[[webhooks]]
id = "other"
url = "https://example.org/hook2"
channels = ["news", "all"]
secret_env = "HOOK_SECRET"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "syndication.toml"
    p.write_text(text, encoding="utf-8")
    return p


def problems(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text), environ=environ or {})
    return [str(p) for p in exc.value.problems]


def test_issue_keys_are_accepted(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, VALID), environ={"HOOK_SECRET": SECRET})
    spp = cfg.source("spp")
    assert spp is not None
    assert (spp.name, spp.kind, spp.interval, spp.priority, spp.timezone) == (
        "最高人民检察院",
        "feed",
        timedelta(minutes=15),
        10,
        "Asia/Shanghai",
    )
    mirror = cfg.source("mirror-1")
    assert mirror is not None and mirror.kind == "feed" and mirror.priority == 0
    news = cfg.channel("news")
    assert news is not None and news.sources == ("spp",) and news.limit == 50 and news.template == "zh"
    all_ = cfg.channel("all")
    assert all_ is not None and all_.includes("mirror-1") and all_.limit == 50
    assert [w.secret for w in cfg.webhooks] == [SECRET, SECRET]
    assert [c.id for c in cfg.channels_for_source("spp")] == ["news", "all"]


def test_shipped_config_is_valid() -> None:
    cfg = load_config(ROOT / "config" / "syndication.toml", environ={})
    assert cfg.sources and cfg.channels
    assert all(s.url.startswith(("http://", "https://")) for s in cfg.sources)


def test_every_problem_is_reported_with_its_place(tmp_path: Path) -> None:
    text = """
[[sources]]
id = "bad id!"
name = "x"
url = "ftp://example.org/feed"
interval = "soon"
timezone = "Mars/Olympus"
colour = "red"

[[sources]]
id = "ok"
name = "ok"
kind = "carrier-pigeon"
url = "https://example.org/feed"

[[channels]]
id = "news"
title = "News"
sources = ["ok", "missing"]
template = "klingon"
limit = 0

[[webhooks]]
id = "hook"
url = "https://example.org/hook"
channels = ["nope"]
secret = "not-a-secret"
secret_env = "ALSO"
"""
    found = problems(tmp_path, text)
    joined = "\n".join(found)
    for fragment in [
        "sources[0] (id 'bad id!').id",
        "sources[0] (id 'bad id!').url",
        "sources[0] (id 'bad id!').interval",
        "sources[0] (id 'bad id!').timezone",
        "sources[0] (id 'bad id!').colour: unknown key",
        "sources[1] (id 'ok').kind",
        "channels[0] (id 'news').sources: 'missing' is not a defined id",
        "channels[0] (id 'news').template",
        "channels[0] (id 'news').limit",
        "webhooks[0] (id 'hook').channels",
        "webhooks[0] (id 'hook').secret: give exactly one",
    ]:
        assert fragment in joined, f"{fragment!r} not in:\n{joined}"
    assert all(p.startswith(str(tmp_path / "syndication.toml")) for p in found)


def test_missing_required_keys(tmp_path: Path) -> None:
    found = problems(tmp_path, '[[sources]]\nkind = "feed"\n[[channels]]\nid = "c"\n')
    joined = "\n".join(found)
    assert "sources[0].id: is required" in joined
    assert "sources[0].name: is required" in joined
    assert "sources[0].url: is required" in joined
    assert "channels[0] (id 'c').title: is required" in joined
    assert "channels[0] (id 'c').sources" in joined


def test_duplicate_ids(tmp_path: Path) -> None:
    one = '[[sources]]\nid = "a"\nname = "A"\nurl = "https://a.example/f"\n'
    assert any("duplicate id 'a'" in p for p in problems(tmp_path, one + one))


def test_secret_env_must_be_set_and_valid(tmp_path: Path) -> None:
    text = VALID
    assert any("HOOK_SECRET is not set" in p for p in problems(tmp_path, text, environ={}))
    bad = problems(tmp_path, text, environ={"HOOK_SECRET": "whsec_***"})
    assert any("webhooks[1] (id 'other').secret_env" in p for p in bad)


def test_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "[[sources]\nid = 1\n")
    assert len(found) == 1 and "invalid TOML" in found[0] and "line 1" in found[0]


def test_missing_file_and_wrong_encoding(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    p = tmp_path / "gbk.toml"
    p.write_bytes('[[sources]]\nname = "检察"\n'.encode("gbk"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(p)


def test_wrong_shapes(tmp_path: Path) -> None:
    found = problems(
        tmp_path, 'sources = "x"\nextra = 1\n[[channels]]\nid = "c"\ntitle = "t"\nsources = "*"\n'
    )
    joined = "\n".join(found)
    assert "sources: must be an array of tables" in joined
    assert "(top level).extra: unknown key" in joined
    assert "channels[0] (id 'c').sources: must be a non-empty list" in joined


def test_operator_templates_folder(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "house.html.j2").write_text("<p>{{ title }}</p>{{ body_html|safe }}")
    text = VALID.replace('template = "en"', 'template = "house"')
    cfg = load_config(write(tmp_path, text), environ={"HOOK_SECRET": SECRET})
    assert cfg.channel("all") is not None and cfg.channel("all").template == "house"  # type: ignore[union-attr]
    assert cfg.template_dirs == (str((tmp_path / "templates").resolve()),)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("90s", 90), ("2h", 7200), ("1d", 86400), ("30", 30), (45, 45), ("1.5h", 5400)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["soon", "", "5 minutes", True, None, "-5m"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    "template",
    ["{% if title %}<p>{{ title }}</p>", "<p>{{ publsher }}</p>{{ body_html|safe }}", "{{ 1 / 0 }}"],
)
def test_a_broken_operator_template_is_a_config_problem(tmp_path: Path, template: str) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "house.html.j2").write_text(template, encoding="utf-8")
    text = VALID.replace('template = "en"', 'template = "house"')
    found = problems(tmp_path, text, environ={"HOOK_SECRET": SECRET})
    assert any("channels[1] (id 'all').template: template 'house' fails to render" in p for p in found), found
