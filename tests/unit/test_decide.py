"""Pure decisions, table-driven: poll scheduling, back-off, the original among duplicates, item keys."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from syndication import decide
from syndication.models import Item

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


def item(**kw: object) -> Item:
    base: dict[str, object] = {
        "source_id": "s",
        "guid": None,
        "url": None,
        "canonical_url": None,
        "title": "t",
        "content_html": "",
        "content_text": "",
        "summary": "",
        "author": None,
        "publisher": None,
        "published_at": None,
        "updated_at": None,
        "categories": (),
        "content_hash": "h" * 64,
    }
    base.update(kw)
    return Item(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"guid": "g1", "canonical_url": "https://a/1"}, "guid:g1"),
        ({"canonical_url": "https://a/1"}, "url:https://a/1"),
        ({}, "hash:" + "h" * 64),
    ],
)
def test_item_key(kw: dict[str, object], key: str) -> None:
    assert decide.item_key(item(**kw)) == key


@pytest.mark.parametrize(
    ("guid", "is_global"),
    [
        ("https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml", True),
        ("tag:example.org,2023:1234", True),
        ("1234", False),
        ("abc-def", False),
        (None, False),
        ("http://a", False),
    ],
)
def test_guid_is_global(guid: str | None, is_global: bool) -> None:
    assert decide.guid_is_global(guid) is is_global


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(1, 15 * MIN), (2, 30 * MIN), (3, 60 * MIN), (4, 120 * MIN), (10, 360 * MIN), (60, 360 * MIN)],
)
def test_failure_backoff_grows_to_the_cap(failures: int, expected: timedelta) -> None:
    assert decide.failure_backoff(15 * MIN, failures, cap=360 * MIN) == expected


def test_failure_backoff_never_below_interval() -> None:
    assert decide.failure_backoff(2 * 60 * MIN, 5, cap=30 * MIN) == 2 * 60 * MIN


def test_next_poll_after_failure_is_jittered_within_bounds_and_honours_retry_after() -> None:
    rng = random.Random(1)
    for failures in range(1, 8):
        at = decide.next_poll_after_failure(NOW, 15 * MIN, failures, 360 * MIN, rng)
        full = decide.failure_backoff(15 * MIN, failures, 360 * MIN)
        assert NOW + full / 2 <= at <= NOW + full
    at = decide.next_poll_after_failure(NOW, MIN, 1, 360 * MIN, rng, retry_after=3600)
    assert at >= NOW + 60 * MIN


def test_next_poll_after_success_is_about_one_interval() -> None:
    rng = random.Random(2)
    times = [decide.next_poll_after_success(NOW, 10 * MIN, rng) for _ in range(50)]
    assert all(NOW + 9 * MIN <= t <= NOW + 11 * MIN for t in times)
    assert len(set(times)) > 1


def C(sid: int, prio: int, pub: datetime | None, seen: datetime = NOW) -> decide.Candidate:
    return decide.Candidate(sid, prio, pub, seen)


@pytest.mark.parametrize(
    ("candidates", "winner"),
    [
        ([C(1, 0, NOW), C(2, 10, NOW + MIN)], 2),  # priority first
        ([C(1, 5, NOW + MIN), C(2, 5, NOW)], 2),  # then earliest publish time
        ([C(1, 5, None), C(2, 5, NOW + 60 * MIN)], 2),  # unknown time last
        ([C(1, 5, None, NOW + MIN), C(2, 5, None, NOW)], 2),  # then first seen
        ([C(3, 5, NOW), C(2, 5, NOW)], 2),  # then lowest id (stable)
    ],
)
def test_choose_original(candidates: list[decide.Candidate], winner: int) -> None:
    assert decide.choose_original(candidates).sighting_id == winner


def test_choose_original_needs_candidates() -> None:
    with pytest.raises(ValueError):
        decide.choose_original([])
