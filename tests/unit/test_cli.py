"""The `syndication` command's config handling: `check`, `--config`, SYNDICATION_CONFIG, bad settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from syndication.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
[[sources]]
id = "spp"
name = "最高人民检察院"
url = "https://www.spp.gov.cn/rss.xml"

[[channels]]
id = "news"
title = "检察要闻"
sources = ["spp"]
"""
BAD = """
[[sources]]
id = "spp"
name = "最高人民检察院"
url = "not a url"
interval = "often"

[[channels]]
id = "news"
title = "检察要闻"
sources = ["nope"]
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for var in (
        "SYNDICATION_CONFIG",
        "SYNDICATION_DATABASE_URL",
        "SYNDICATION_BROKER_URL",
        "SYNDICATION_LISTEN",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SYNDICATION_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_check_accepts_a_valid_file(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "ok.toml", GOOD)
    out = runner.invoke(main, ["--config", str(path), "check"])
    assert out.exit_code == 0, out.output
    assert "ok (1 sources, 1 channels, 0 webhooks)" in out.output


def test_check_lists_every_problem_and_fails(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", BAD)
    out = runner.invoke(main, ["--config", str(path), "check"])
    assert out.exit_code != 0
    assert f"{path}: sources[0] (id 'spp').url" in out.output
    assert f"{path}: sources[0] (id 'spp').interval" in out.output
    assert f"{path}: channels[0] (id 'news').sources" in out.output
    assert "3 problem(s)" in out.output


def test_config_from_environment(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATION_CONFIG", str(write(tmp_path, "bad.toml", BAD)))
    assert runner.invoke(main, ["check"]).exit_code != 0
    # --config wins over the environment
    good = write(tmp_path, "ok.toml", GOOD)
    assert runner.invoke(main, ["--config", str(good), "check"]).exit_code == 0


def test_default_config_is_the_shipped_one(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = runner.invoke(main, ["check"])
    assert out.exit_code == 0 and "config/syndication.toml: ok" in out.output


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--once"],
        ["web"],
        ["worker"],
        ["beat"],
        ["feed", "news"],
        ["sources"],
        ["deliveries"],
        ["db", "upgrade"],
        ["db", "current"],
    ],
)
def test_every_command_refuses_an_invalid_file(runner: CliRunner, tmp_path: Path, command: list[str]) -> None:
    path = write(tmp_path, "bad.toml", BAD)
    out = runner.invoke(main, ["--config", str(path), *command])
    assert out.exit_code != 0
    assert "sources[0] (id 'spp').url" in out.output
    assert not (tmp_path / "data" / "syndication.db").exists()  # refused before touching anything


def test_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    out = runner.invoke(main, ["--config", str(tmp_path / "absent.toml"), "check"])
    assert out.exit_code != 0 and "absent.toml: (file): not found" in out.output


def test_bad_settings_are_named(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNDICATION_LISTEN", "everywhere")
    out = runner.invoke(main, ["--config", str(write(tmp_path, "ok.toml", GOOD)), "check"])
    assert out.exit_code != 0 and "SYNDICATION_LISTEN" in out.output


def test_feed_of_an_unknown_channel(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "ok.toml", GOOD)
    assert runner.invoke(main, ["--config", str(path), "db", "upgrade"]).exit_code == 0
    out = runner.invoke(main, ["--config", str(path), "feed", "nope"])
    assert out.exit_code != 0 and "no channel 'nope'" in out.output and "news" in out.output
    out = runner.invoke(main, ["--config", str(path), "feed", "news", "--format", "atom"])
    assert out.exit_code == 0 and "<feed" in out.output and "检察要闻" in out.output


def test_feed_as_json_prints_a_json_feed(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "ok.toml", GOOD)
    assert runner.invoke(main, ["--config", str(path), "db", "upgrade"]).exit_code == 0
    out = runner.invoke(main, ["--config", str(path), "feed", "news", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert "检察要闻".encode() in out.stdout_bytes  # UTF-8, not \\u escapes
    doc = json.loads(out.stdout_bytes)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] == "检察要闻"
    assert doc["feed_url"].endswith("/feeds/news.json")
    assert doc["items"] == []  # nothing polled yet: an empty, valid feed
    out = runner.invoke(main, ["--config", str(path), "feed", "news", "--format", "yaml"])
    assert out.exit_code != 0 and "'json'" in out.output
