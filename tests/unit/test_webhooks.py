"""publish.webhooks: Standard Webhooks signing, verifying, payload, POST and retry schedule."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from syndication import USER_AGENT
from syndication.errors import DeliveryError
from syndication.models import Provenance, PublishedItem, Sighting
from syndication.publish.webhooks import (
    EVENT_PUBLISHED,
    build_payload,
    encode_payload,
    new_message_id,
    new_secret,
    post,
    retry_delay,
    secret_key,
    sign,
    signed_headers,
    verify,
)

# The example in the Standard Webhooks spec and its reference libraries' tests.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + base64.b64encode(b"x" * 32).decode()
URL = "http://127.0.0.1:9/hook"


# --- signing --------------------------------------------------------------------------------------


def test_sign_matches_the_spec_vector() -> None:
    assert sign(SPEC_SECRET, SPEC_MSG_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE


def test_sign_depends_on_every_input() -> None:
    sigs = {
        sign(SPEC_SECRET, SPEC_MSG_ID, SPEC_TS, SPEC_BODY),
        sign(OTHER_SECRET, SPEC_MSG_ID, SPEC_TS, SPEC_BODY),
        sign(SPEC_SECRET, "msg_other", SPEC_TS, SPEC_BODY),
        sign(SPEC_SECRET, SPEC_MSG_ID, SPEC_TS + 1, SPEC_BODY),
        sign(SPEC_SECRET, SPEC_MSG_ID, SPEC_TS, SPEC_BODY + b" "),
    }
    assert len(sigs) == 5


def test_sign_rejects_message_ids_that_make_the_base_string_ambiguous() -> None:
    with pytest.raises(ValueError, match=r"no '\.'"):
        sign(SPEC_SECRET, "msg_a.b", SPEC_TS, SPEC_BODY)
    with pytest.raises(ValueError):
        sign(SPEC_SECRET, "", SPEC_TS, SPEC_BODY)


def test_secret_key_decodes_base64_after_the_prefix() -> None:
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert secret_key(SPEC_SECRET) == key
    assert secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == key  # as the reference libraries do
    unpadded = "whsec_" + base64.b64encode(b"k" * 25).decode().rstrip("=")
    assert secret_key(unpadded) == b"k" * 25


@pytest.mark.parametrize("bad", ["whsec_not base64!", "whsec_abc$def", "whsec_", "", "whsec_===="])
def test_secret_key_rejects_bad_secrets_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        secret_key(bad)
    assert "whsec_" in str(info.value)  # says what was expected
    if bad.removeprefix("whsec_"):
        assert bad.removeprefix("whsec_") not in str(info.value)


def test_new_secret_round_trips_and_is_random() -> None:
    a, b = new_secret(), new_secret()
    assert a.startswith("whsec_") and a != b
    assert len(secret_key(a)) == 32
    with pytest.raises(ValueError):
        new_secret(8)


def test_new_message_id_is_unique_and_signable() -> None:
    ids = {new_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    for msg_id in ids:
        assert msg_id.startswith("msg_") and "." not in msg_id and len(msg_id) >= 20
        sign(SPEC_SECRET, msg_id, SPEC_TS, b"{}")


def test_signed_headers() -> None:
    h = signed_headers(SPEC_SECRET, SPEC_MSG_ID, SPEC_TS, SPEC_BODY)
    assert h == {
        "webhook-id": SPEC_MSG_ID,
        "webhook-timestamp": str(SPEC_TS),
        "webhook-signature": SPEC_SIGNATURE,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def test_signed_headers_with_two_secrets_verify_under_either() -> None:
    h = signed_headers([SPEC_SECRET, OTHER_SECRET], SPEC_MSG_ID, SPEC_TS, SPEC_BODY)
    assert len(h["webhook-signature"].split(" ")) == 2
    verify(SPEC_SECRET, h, SPEC_BODY, now=SPEC_TS)
    verify(OTHER_SECRET, h, SPEC_BODY, now=SPEC_TS)
    with pytest.raises(ValueError):
        signed_headers([], SPEC_MSG_ID, SPEC_TS, SPEC_BODY)


# --- verifying ------------------------------------------------------------------------------------


def spec_headers(**override: str) -> dict[str, str]:
    h = {"webhook-id": SPEC_MSG_ID, "webhook-timestamp": str(SPEC_TS), "webhook-signature": SPEC_SIGNATURE}
    h.update(override)
    return h


def test_verify_accepts_the_spec_vector_and_any_header_case() -> None:
    verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS)
    verify(SPEC_SECRET, {k.upper(): v for k, v in spec_headers().items()}, SPEC_BODY, now=SPEC_TS + 299)
    verify(SPEC_SECRET, httpx.Headers(spec_headers()), SPEC_BODY, now=SPEC_TS - 300)


def test_verify_round_trip_with_generated_secret_and_id() -> None:
    secret, msg_id = new_secret(), new_message_id()
    body = encode_payload({"type": "x", "data": {"标题": "湖北"}})
    verify(secret, signed_headers(secret, msg_id, 1_700_000_000, body), body, now=1_700_000_010)


def test_verify_rejects_wrong_secret() -> None:
    with pytest.raises(ValueError, match="no matching"):
        verify(OTHER_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS)


def test_verify_rejects_tampered_body_id_or_timestamp() -> None:
    with pytest.raises(ValueError, match="no matching"):
        verify(SPEC_SECRET, spec_headers(), b'{"test": 2432232315}', now=SPEC_TS)
    with pytest.raises(ValueError, match="no matching"):
        verify(SPEC_SECRET, spec_headers(**{"webhook-id": "msg_other"}), SPEC_BODY, now=SPEC_TS)
    with pytest.raises(ValueError, match="no matching"):
        verify(SPEC_SECRET, spec_headers(**{"webhook-timestamp": str(SPEC_TS + 1)}), SPEC_BODY, now=SPEC_TS)


def test_verify_rejects_expired_and_future_timestamps() -> None:
    with pytest.raises(ValueError, match="too old"):
        verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS + 301)
    with pytest.raises(ValueError, match="too new"):
        verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS - 301)
    verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TS + 3600, tolerance=3600)


def test_verify_accepts_one_good_signature_among_several() -> None:
    others = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1a,bm90IGFuIGVkMjU1MTkgc2ln garbage"
    verify(
        SPEC_SECRET,
        spec_headers(**{"webhook-signature": f"{others} {SPEC_SIGNATURE}"}),
        SPEC_BODY,
        now=SPEC_TS,
    )
    # the right bytes under another scheme name are not a v1 signature
    v1a = SPEC_SIGNATURE.replace("v1,", "v1a,")
    with pytest.raises(ValueError, match="no matching"):
        verify(SPEC_SECRET, spec_headers(**{"webhook-signature": v1a}), SPEC_BODY, now=SPEC_TS)


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_verify_rejects_missing_headers(name: str) -> None:
    h = spec_headers()
    del h[name]
    with pytest.raises(ValueError, match=f"missing webhook header.*{name}"):
        verify(SPEC_SECRET, h, SPEC_BODY, now=SPEC_TS)


@pytest.mark.parametrize("ts", ["1614265330.5", "-1", "abc", "1e9", "99999999999999999999"])
def test_verify_rejects_malformed_timestamps(ts: str) -> None:
    with pytest.raises(ValueError, match="unix seconds"):
        verify(SPEC_SECRET, spec_headers(**{"webhook-timestamp": ts}), SPEC_BODY, now=SPEC_TS)


# --- payload --------------------------------------------------------------------------------------

BEIJING = timezone(timedelta(hours=8))
ITEM = PublishedItem(
    article_id=635358,
    guid="urn:syndication:article:635358",
    title="湖北:以高质量人才队伍建设助推检察工作现代化",
    link="https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml",
    content_html="<p>激活内驱力 人人尽展其才</p>",
    content_text="激活内驱力 人人尽展其才",
    summary="激活内驱力",
    categories=("检察", "人才"),
    published_at=datetime(2023, 12, 1, 8, 30, tzinfo=BEIJING),
    updated_at=datetime(2023, 12, 3, 10, 0, 0, 250000, tzinfo=UTC),
    provenance=Provenance(
        original_url="https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml",
        publisher="中华人民共和国最高人民检察院",
        author=None,
        published_at=datetime(2023, 12, 1, 8, 30, tzinfo=BEIJING),
        source_id="spp",
        source_name="最高人民检察院",
        also_at=(
            Sighting(
                "lzfzw", "廉政法制网", "https://www.lzfzwl.org.cn/a.html", datetime(2023, 12, 3, tzinfo=UTC)
            ),
        ),
    ),
    attribution_html="<p>原文链接:...</p><p>[免责声明] ...</p>",
    attribution_text="原文链接:...\n[免责声明] ...",
)
EVENT_TIME = datetime(2023, 12, 3, 10, 0, 1, tzinfo=UTC)


def test_payload_shape() -> None:
    p = build_payload(ITEM, channel_ids=["news", "all"], timestamp=EVENT_TIME)
    assert p["type"] == EVENT_PUBLISHED == "article.published"
    assert p["timestamp"] == "2023-12-03T10:00:01Z"
    assert p["data"] == {
        "id": 635358,
        "guid": "urn:syndication:article:635358",
        "title": "湖北:以高质量人才队伍建设助推检察工作现代化",
        "url": "https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml",
        "summary": "激活内驱力",
        "content_html": "<p>激活内驱力 人人尽展其才</p>",
        "content_text": "激活内驱力 人人尽展其才",
        "categories": ["检察", "人才"],
        "attachments": [],
        "published_at": "2023-12-01T00:30:00Z",
        "updated_at": "2023-12-03T10:00:00.250000Z",
        "provenance": {
            "original_url": "https://www.spp.gov.cn/spp/zdgz/202312/t20231201_635358.shtml",
            "publisher": "中华人民共和国最高人民检察院",
            "author": None,
            "published_at": "2023-12-01T00:30:00Z",
            "source_id": "spp",
            "source_name": "最高人民检察院",
            "also_at": [
                {
                    "source_id": "lzfzw",
                    "source_name": "廉政法制网",
                    "url": "https://www.lzfzwl.org.cn/a.html",
                    "seen_at": "2023-12-03T00:00:00Z",
                    "published_at": None,
                }
            ],
        },
        "attribution": {
            "template": "zh",
            "html": "<p>原文链接:...</p><p>[免责声明] ...</p>",
            "text": "原文链接:...\n[免责声明] ...",
        },
        "channels": ["news", "all"],
    }


def test_payload_event_type_and_naive_time() -> None:
    assert build_payload(ITEM, channel_ids=[], event="article.updated", timestamp=EVENT_TIME)["type"] == (
        "article.updated"
    )
    with pytest.raises(ValueError, match="tz-aware"):
        build_payload(ITEM, channel_ids=[], timestamp=datetime(2023, 12, 3))


def test_encode_payload_is_compact_sorted_utf8_and_signable() -> None:
    payload = build_payload(ITEM, channel_ids=["news"], timestamp=EVENT_TIME)
    body = encode_payload(payload)
    assert json.loads(body) == payload
    assert b": " not in body and b", " not in body
    assert "最高人民检察院".encode() in body and b"\\u" not in body
    assert body.startswith(b'{"data":{"attachments":[],"attribution":{"html":')
    assert body.endswith(b'"timestamp":"2023-12-03T10:00:01Z","type":"article.published"}')
    assert encode_payload(payload) == body  # stable bytes
    with pytest.raises(ValueError):
        encode_payload({"x": float("nan")})


# --- POST -----------------------------------------------------------------------------------------


def test_post_2xx_returns_status_and_sends_headers_and_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    body = encode_payload(build_payload(ITEM, channel_ids=["news"], timestamp=EVENT_TIME))
    headers = signed_headers(SPEC_SECRET, SPEC_MSG_ID, 1_700_000_000, body)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        assert post(URL, headers=headers, body=body, client=client) == 200
    (request,) = seen
    assert request.method == "POST" and str(request.url) == URL
    assert request.content == body
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["content-type"] == "application/json"
    verify(SPEC_SECRET, request.headers, request.content, now=1_700_000_000)


def test_post_204_is_success() -> None:
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(204))) as client:
        assert post(URL, headers={}, body=b"{}", client=client) == 204


def test_post_500_raises_with_status_and_snippet() -> None:
    answer = "Internal   Server\nError: database is down " + "x" * 5000

    with (
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500, text=answer))) as client,
        pytest.raises(DeliveryError) as info,
    ):
        post(URL, headers={}, body=b"{}", client=client)
    assert info.value.status == 500
    message = str(info.value)
    assert "500" in message and URL in message
    assert "Internal Server Error: database is down" in message
    assert len(message) < 400  # a snippet, not the whole answer


def test_post_503_quotes_retry_after() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(503, headers={"Retry-After": "120"}))
    with httpx.Client(transport=transport) as client, pytest.raises(DeliveryError) as info:
        post(URL, headers={}, body=b"{}", client=client)
    assert info.value.status == 503
    assert "Retry-After: 120" in str(info.value)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_post_does_not_follow_redirects(status: int) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if request.url.path == "/hook":
            return httpx.Response(status, headers={"Location": "http://127.0.0.1:9/new-hook"})
        return httpx.Response(200)

    # even a client configured to follow redirects does not follow them for a delivery
    with (
        httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True) as client,
        pytest.raises(DeliveryError) as info,
    ):
        post(URL, headers={}, body=b"{}", client=client)
    assert calls == [URL]
    assert info.value.status == status
    assert "http://127.0.0.1:9/new-hook" in str(info.value)
    assert "not followed" in str(info.value)


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (httpx.ReadTimeout("read timed out"), "timed out after 2.5 s"),
        (httpx.ConnectTimeout("connect timed out"), "timed out"),
        (httpx.ConnectError("connection refused"), "ConnectError: connection refused"),
        (httpx.RemoteProtocolError("server hung up"), "RemoteProtocolError"),
    ],
)
def test_post_transport_failures_raise_delivery_error_without_status(exc: Exception, words: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with httpx.Client(transport=httpx.MockTransport(handler)) as client, pytest.raises(DeliveryError) as info:
        post(URL, headers={}, body=b"{}", timeout=2.5, client=client)
    assert info.value.status is None
    assert words in str(info.value)
    assert info.value.__cause__ is exc


def test_post_unusable_url_raises_delivery_error() -> None:
    # no client given: post makes its own; the scheme is refused before any connection is tried
    with pytest.raises(DeliveryError) as info:
        post("ftp://127.0.0.1/hook", headers={}, body=b"{}")
    assert info.value.status is None


# --- retry schedule -------------------------------------------------------------------------------


def test_retry_delay_grows_exponentially_within_equal_jitter_bounds() -> None:
    rng = random.Random(42)
    for attempt in range(1, 8):
        full = 5.0 * 2 ** (attempt - 1)
        for _ in range(200):
            d = retry_delay(attempt, base=5.0, cap=10_000.0, rng=rng)
            assert full / 2 <= d <= full


def test_retry_delay_is_capped_but_still_jittered() -> None:
    rng = random.Random(7)
    delays = [retry_delay(30, base=5.0, cap=3600.0, rng=rng) for _ in range(200)]
    assert all(1800.0 <= d <= 3600.0 for d in delays)
    assert len(set(delays)) > 100  # spread out, not all at the cap
    assert retry_delay(10_000, base=5.0, cap=3600.0, rng=rng) <= 3600.0  # no overflow


def test_retry_delay_grows_on_average_and_is_reproducible() -> None:
    def schedule(seed: int) -> list[float]:
        rng = random.Random(seed)
        return [retry_delay(n, base=1.0, cap=1e9, rng=rng) for n in range(1, 12)]

    s = schedule(1)
    assert s == schedule(1)
    assert s != schedule(2)
    # with equal jitter, attempt n+2 is always later than attempt n (4x the base, at most 2x jitter loss)
    assert all(s[i + 2] > s[i] for i in range(len(s) - 2))


def test_retry_delay_rejects_bad_arguments() -> None:
    rng = random.Random(0)
    with pytest.raises(ValueError, match="1-based"):
        retry_delay(0, base=1.0, cap=10.0, rng=rng)
    with pytest.raises(ValueError):
        retry_delay(1, base=-1.0, cap=10.0, rng=rng)
