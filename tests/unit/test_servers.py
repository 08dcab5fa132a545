"""Tests of the test harness itself (tests/servers.py): Origin, WebhookReceiver, helpers, feed makers."""

from __future__ import annotations

import gzip
import json
import socket
import time
from collections.abc import Iterator

import feedparser
import httpx
import pytest

from tests.servers import (
    Origin,
    WebhookReceiver,
    free_port,
    make_atom,
    make_rss,
    signature_matches,
    standard_webhooks_signature,
    timestamp_is_fresh,
    verify_standard_webhook,
    wait_until,
)

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as o:
        yield o
    assert o.errors == []


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5) as c:
        yield c


# ---- helpers ------------------------------------------------------------------------------------


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 0 < port < 65536
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_wait_until() -> None:
    assert wait_until(lambda: True, timeout=0.1)
    start = time.monotonic()
    assert not wait_until(lambda: False, timeout=0.1, interval=0.02)
    assert 0.09 <= time.monotonic() - start < 1
    calls = iter([False, False, True])
    assert wait_until(lambda: next(calls), timeout=1, interval=0.01)


# ---- Standard Webhooks verifier -----------------------------------------------------------------


def test_signature_test_vector() -> None:
    assert standard_webhooks_signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIG
    assert standard_webhooks_signature(VECTOR_SECRET, VECTOR_ID, str(VECTOR_TS), VECTOR_BODY) == VECTOR_SIG
    assert signature_matches(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY, VECTOR_SIG)
    # any matching entry in a space-separated list; other versions ignored
    assert signature_matches(
        VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY, f"v1,Zm9v v1a,xyz {VECTOR_SIG}"
    )
    assert not signature_matches(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY, "v1,Zm9v")
    assert not signature_matches(
        VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY, VECTOR_SIG.replace("v1", "v2")
    )
    assert not signature_matches(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY + b" ", VECTOR_SIG)
    assert not signature_matches(VECTOR_SECRET, "msg_other", VECTOR_TS, VECTOR_BODY, VECTOR_SIG)
    assert not signature_matches(VECTOR_SECRET, VECTOR_ID, VECTOR_TS + 1, VECTOR_BODY, VECTOR_SIG)
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    assert not signature_matches(other, VECTOR_ID, VECTOR_TS, VECTOR_BODY, VECTOR_SIG)
    assert not signature_matches(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY, None)


def test_timestamp_window() -> None:
    assert timestamp_is_fresh(VECTOR_TS, now=VECTOR_TS + 300)
    assert timestamp_is_fresh(str(VECTOR_TS), now=VECTOR_TS - 300)
    assert not timestamp_is_fresh(VECTOR_TS, now=VECTOR_TS + 301)
    assert not timestamp_is_fresh(VECTOR_TS, now=VECTOR_TS - 301)
    assert not timestamp_is_fresh("not-a-number", now=VECTOR_TS)
    assert not timestamp_is_fresh(None, now=VECTOR_TS)
    assert verify_standard_webhook(
        VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY, VECTOR_SIG, now=VECTOR_TS + 5
    )
    # the vector is from 2021: stale against the real clock
    assert not verify_standard_webhook(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY, VECTOR_SIG)
    assert not verify_standard_webhook(VECTOR_SECRET, None, VECTOR_TS, VECTOR_BODY, VECTOR_SIG, now=VECTOR_TS)


# ---- Origin -------------------------------------------------------------------------------------


def test_origin_200_with_validators_then_304(origin: Origin, client: httpx.Client) -> None:
    body = make_rss([{"guid": "a", "title": "A"}])
    origin.add("/feed.xml", body)
    assert origin.base_url.startswith("http://127.0.0.1:")

    r = client.get(origin.url("/feed.xml"))
    assert r.status_code == 200
    assert r.content == body
    assert r.headers["content-type"] == "application/rss+xml"
    etag = r.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert r.headers["last-modified"] == "Wed, 01 Nov 2023 00:00:00 GMT"

    r = client.get(origin.url("/feed.xml"), headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    # weak comparison and lists
    r = client.get(origin.url("/feed.xml"), headers={"If-None-Match": f'"nope", W/{etag}'})
    assert r.status_code == 304
    # If-None-Match that doesn't match wins over a matching If-Modified-Since
    r = client.get(
        origin.url("/feed.xml"),
        headers={"If-None-Match": '"other"', "If-Modified-Since": "Thu, 02 Nov 2023 00:00:00 GMT"},
    )
    assert r.status_code == 200
    # If-Modified-Since alone
    ims = client.get(origin.url("/feed.xml"), headers={"If-Modified-Since": "Wed, 01 Nov 2023 00:00:00 GMT"})
    assert ims.status_code == 304
    older = client.get(
        origin.url("/feed.xml"), headers={"If-Modified-Since": "Tue, 31 Oct 2023 00:00:00 GMT"}
    )
    assert older.status_code == 200

    # replacing the body changes the ETag; the old one no longer matches
    origin.add(
        "/feed.xml", make_rss([{"guid": "b", "title": "B"}]), last_modified="Fri, 03 Nov 2023 00:00:00 GMT"
    )
    r = client.get(origin.url("/feed.xml"), headers={"If-None-Match": etag})
    assert r.status_code == 200
    assert r.headers["etag"] != etag

    statuses = [rec.status for rec in origin.requests_for("/feed.xml")]
    assert statuses == [200, 304, 304, 200, 304, 200, 200]
    rec = origin.requests_for("/feed.xml")[1]
    assert rec.method == "GET"
    assert rec.headers["if-none-match"] == etag
    assert rec.header("If-None-Match") == etag
    assert rec.time <= time.monotonic() and abs(rec.wall_time - time.time()) < 60


def test_origin_no_validators_404_head_and_headers(origin: Origin, client: httpx.Client) -> None:
    origin.add(
        "/plain",
        b"hello",
        content_type="text/plain; charset=utf-8",
        etag=False,
        last_modified=None,
        headers={"Cache-Control": "max-age=60", "X-Extra": "1"},
    )
    r = client.get(origin.url("/plain"), headers={"If-None-Match": "*"})
    assert r.status_code == 200
    assert "etag" not in r.headers and "last-modified" not in r.headers
    assert r.headers["cache-control"] == "max-age=60"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"

    head = client.head(origin.url("/plain"))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == "5"

    assert client.get(origin.url("/missing")).status_code == 404
    assert client.post(origin.url("/plain"), content=b"x").status_code == 405
    assert [r.method for r in origin.requests] == ["GET", "HEAD", "GET", "POST"]
    assert origin.requests[-1].body == b"x"
    origin.clear_log()
    assert origin.requests == []


def test_origin_query_strings(origin: Origin, client: httpx.Client) -> None:
    origin.add("/feed", b"any")
    origin.add("/feed?page=2", b"second")
    assert client.get(origin.url("/feed?page=1")).content == b"any"
    assert client.get(origin.url("/feed?page=2")).content == b"second"
    assert len(origin.requests_for("/feed")) == 2
    assert [r.query for r in origin.requests_for("/feed?page=2")] == ["page=2"]


def test_origin_fail_times_then_ok(origin: Origin, client: httpx.Client) -> None:
    origin.add("/feed.xml", b"<rss/>")
    origin.fail("/feed.xml", 503, times=2, body=b"busy", headers={"Retry-After": "1"})
    first = client.get(origin.url("/feed.xml"))
    assert (first.status_code, first.content, first.headers["retry-after"]) == (503, b"busy", "1")
    assert client.get(origin.url("/feed.xml")).status_code == 503
    assert client.get(origin.url("/feed.xml")).status_code == 200
    assert [r.status for r in origin.requests_for("/feed.xml")] == [503, 503, 200]

    origin.fail("/gone", 410)  # always, even for a path with no route
    assert [client.get(origin.url("/gone")).status_code for _ in range(3)] == [410, 410, 410]
    origin.unfail("/gone")
    assert client.get(origin.url("/gone")).status_code == 404


def test_origin_redirect(origin: Origin, client: httpx.Client) -> None:
    origin.add("/new.xml", b"<rss/>")
    origin.redirect("/old.xml", origin.url("/new.xml"))
    origin.redirect("/temp.xml", "/new.xml", status=302)

    r = client.get(origin.url("/old.xml"))
    assert r.status_code == 301 and r.headers["location"] == origin.url("/new.xml")
    r = client.get(origin.url("/old.xml"), follow_redirects=True)
    assert r.status_code == 200 and r.content == b"<rss/>"
    assert [h.status_code for h in r.history] == [301]
    r = client.get(origin.url("/temp.xml"), follow_redirects=True)
    assert r.status_code == 200 and r.history[0].status_code == 302


def test_origin_gzip_huge_streams_announced_encoding(origin: Origin, client: httpx.Client) -> None:
    size = 3 * 1024 * 1024
    origin.huge("/bomb.xml", size=size, gzip=True)
    with client.stream("GET", origin.url("/bomb.xml")) as r:
        assert r.status_code == 200
        assert r.headers["content-encoding"] == "gzip"
        assert "content-length" not in r.headers
        raw = b"".join(r.iter_raw())
    assert len(raw) < size // 50  # compressed on the wire
    data = gzip.decompress(raw)
    assert len(data) == size
    assert data.startswith(b"<?xml") and data.endswith(b"</rss>\n")

    origin.huge("/big.xml", size=size)
    with client.stream("GET", origin.url("/big.xml")) as r:
        assert r.headers["content-length"] == str(size)
        assert "content-encoding" not in r.headers
        assert sum(len(chunk) for chunk in r.iter_bytes()) == size
    feed = feedparser.parse(client.get(origin.url("/big.xml")).content)
    assert feed.feed.title == "huge"


def test_origin_add_gzip_and_add_file(origin: Origin, client: httpx.Client, tmp_path) -> None:
    origin.add("/z.xml", b"<rss>zipped</rss>", gzip=True)
    r = client.get(origin.url("/z.xml"))
    assert r.headers["content-encoding"] == "gzip" and r.content == b"<rss>zipped</rss>"

    plain = tmp_path / "feed.xml"
    plain.write_bytes(b"<rss>disk</rss>")
    packed = tmp_path / "feed.xml.gz"
    packed.write_bytes(gzip.compress(b"<rss>from gz</rss>"))
    origin.add_file("/disk.xml", plain)
    origin.add_file("/gz.xml", packed, gzip_decompress=True, content_type="application/xml")
    assert client.get(origin.url("/disk.xml")).content == b"<rss>disk</rss>"
    r = client.get(origin.url("/gz.xml"))
    assert r.content == b"<rss>from gz</rss>"
    assert r.headers["content-type"] == "application/xml"
    assert "content-encoding" not in r.headers


def test_origin_drip_and_slow(origin: Origin, client: httpx.Client) -> None:
    origin.drip("/drip", chunk=b"ab", interval=0.05, count=4)
    start = time.monotonic()
    r = client.get(origin.url("/drip"))
    assert r.content == b"ab" * 4
    assert time.monotonic() - start >= 0.18

    origin.add("/slow", b"late")
    origin.slow("/slow", delay=5)
    with pytest.raises(httpx.ReadTimeout):
        client.get(origin.url("/slow"), timeout=0.2)
    assert origin.requests_for("/slow")[0].status is None
    origin.slow("/slow", delay=0)
    assert client.get(origin.url("/slow")).content == b"late"
    start = time.monotonic()
    origin.stop()  # wakes the handler still sleeping on the first request
    assert time.monotonic() - start < 2


def test_origin_survives_client_disconnect_mid_body(origin: Origin, client: httpx.Client, capfd) -> None:
    origin.huge("/huge", size=64 * 1024 * 1024)
    origin.add("/ok", b"fine")
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", origin.port)) as s:
            s.sendall(b"GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
        with client.stream("GET", origin.url("/huge")) as r:
            next(r.iter_raw())  # then leave early: httpx closes the connection
    assert wait_until(lambda: origin.open_connections == 0, timeout=2)  # handlers done
    assert client.get(origin.url("/ok")).content == b"fine"
    time.sleep(0.1)
    assert origin.errors == []
    assert "Traceback" not in capfd.readouterr().err


def test_origin_lifecycle() -> None:
    o = Origin()
    with pytest.raises(RuntimeError):
        _ = o.base_url
    assert o.start() is o
    port = o.port
    o.stop()
    o.stop()  # idempotent
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as c:
        c.get(f"http://127.0.0.1:{port}/")


# ---- WebhookReceiver ----------------------------------------------------------------------------


def _post(client: httpx.Client, url: str, secret: str, msg_id: str, payload: dict, ts: int | None = None):
    body = json.dumps(payload).encode()
    ts = int(time.time()) if ts is None else ts
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": standard_webhooks_signature(secret, msg_id, ts, body),
        "content-type": "application/json",
    }
    return client.post(url, content=body, headers=headers)


def test_receiver_fail_first_and_signatures(client: httpx.Client) -> None:
    secret = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtMTIzNDU2Nzg="
    with WebhookReceiver(secret, fail_first=2) as rx:
        assert rx.url == rx.base_url + "/hook"
        codes = [_post(client, rx.url, secret, "msg_1", {"n": 1}).status_code for _ in range(3)]
        assert codes == [500, 500, 200]
        assert _post(client, rx.url, secret, "msg_2", {"n": 2}).status_code == 500  # counted per id

        attempts = rx.attempts
        assert [a.status for a in attempts] == [500, 500, 200, 500]
        assert [a.attempt_number for a in attempts] == [1, 2, 3, 1]
        assert all(a.signature_valid for a in attempts)
        assert attempts[0].json == {"n": 1}
        assert attempts[0].webhook_id == "msg_1" and isinstance(attempts[0].timestamp, int)
        assert rx.delivered_ids() == ["msg_1"]
        assert rx.wait_for(1, timeout=0.1)
        assert not rx.wait_for(2, timeout=0.1)

        # wrong secret, tampered body, stale timestamp
        wrong = "whsec_" + "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXk="
        rx.set_fail_first(0)
        _post(client, rx.url, wrong, "msg_3", {"n": 3})
        good_sig = standard_webhooks_signature(secret, "msg_4", int(time.time()), b"{}")
        client.post(
            rx.url,
            content=b'{"tampered": true}',
            headers={
                "webhook-id": "msg_4",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": good_sig,
            },
        )
        _post(client, rx.url, secret, "msg_5", {"n": 5}, ts=int(time.time()) - 3600)
        last = rx.attempts[-3:]
        assert [a.signature_valid for a in last] == [False, False, False]
        assert [a.signature_match for a in last] == [False, False, True]
        assert [a.timestamp_fresh for a in last] == [True, True, False]
        assert last[0].verify(wrong)  # re-verifiable with another secret
        assert rx.delivered_ids() == ["msg_1", "msg_3", "msg_4", "msg_5"]  # receiver still answers 200
        assert rx.wait_for(4, timeout=1)
    assert rx.errors == []


def test_receiver_fail_ids_status_and_non_json(client: httpx.Client) -> None:
    with WebhookReceiver(fail_ids={"bad"}, fail_status=410) as rx:
        assert client.post(rx.url, content=b"x", headers={"webhook-id": "bad"}).status_code == 410
        assert client.post(rx.url, content=b"x", headers={"webhook-id": "bad"}).status_code == 410
        assert client.post(rx.url, content=b"not json", headers={"webhook-id": "ok"}).status_code == 200
        a = rx.attempts[-1]
        assert a.json is None and a.body == b"not json"
        assert not a.signature_valid  # no secret configured
        assert client.get(rx.url).status_code == 405
        rx.clear()
        assert rx.attempts == []


def test_receiver_with_injected_clock_accepts_the_vector(client: httpx.Client) -> None:
    with WebhookReceiver(VECTOR_SECRET, clock=lambda: VECTOR_TS + 1.0) as rx:
        headers = {
            "webhook-id": VECTOR_ID,
            "webhook-timestamp": str(VECTOR_TS),
            "webhook-signature": VECTOR_SIG,
        }
        assert client.post(rx.url, content=VECTOR_BODY, headers=headers).status_code == 200
        assert rx.attempts[0].signature_valid
        assert rx.attempts[0].received_at == VECTOR_TS + 1.0


def test_receiver_delay_causes_client_timeout(client: httpx.Client) -> None:
    with WebhookReceiver(delay=0.5) as rx:
        with pytest.raises(httpx.ReadTimeout):
            client.post(rx.url, content=b"{}", headers={"webhook-id": "slow"}, timeout=0.1)
        assert rx.attempts[0].status is None
        assert rx.wait_for(1, timeout=2)  # answered after the delay though the client left
        assert rx.attempts[0].status == 200


# ---- feed makers --------------------------------------------------------------------------------


def test_make_rss_parses_with_feedparser() -> None:
    data = make_rss(
        [
            {
                "guid": "id-1",
                "title": "First & <best>",
                "link": "https://example.org/1",
                "description": "<p>Summary</p>",
                "content": "<p>Full <b>content</b></p>",
                "pubDate": "Wed, 01 Nov 2023 08:00:00 +0800",
                "author": "Jane Doe",
                "source": {"name": "Xinhua", "url": "https://xinhua.example/"},
                "publisher": "People's Daily",
                "categories": ["news", "world"],
            },
            {"guid": "id-2", "title": "Second", "author": "ed@example.org (Ed)"},
        ],
        title="My feed",
    )
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    assert feed.feed.title == "My feed"
    e = feed.entries[0]
    assert e.id == "id-1" and e.title == "First & <best>" and e.link == "https://example.org/1"
    assert e.summary == "<p>Summary</p>"
    assert e.content[0].value == "<p>Full <b>content</b></p>"
    assert e.published == "Wed, 01 Nov 2023 08:00:00 +0800" and e.published_parsed is not None
    assert e.author == "Jane Doe"
    assert e.source.title == "Xinhua" and e.source.href == "https://xinhua.example/"
    assert e.publisher == "People's Daily"
    assert [t.term for t in e.tags] == ["news", "world"]
    assert feed.entries[1].author_detail.email == "ed@example.org"

    with pytest.raises(TypeError):
        make_rss([{"titel": "typo"}])


def test_make_rss_gb18030_served_and_parsed(origin: Origin, client: httpx.Client) -> None:
    titles = ["国务院常务会议", "新华社：𠮷野家"]  # includes a character outside the BMP
    data = make_rss(
        [{"guid": str(i), "title": t, "source": "新华社"} for i, t in enumerate(titles)],
        title="中文频道",
        encoding="gb18030",
    )
    assert data.startswith(b'<?xml version="1.0" encoding="gb18030"?>')
    assert "国务院".encode("gb18030") in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    origin.add("/cn.xml", data, content_type="application/rss+xml")
    feed = feedparser.parse(client.get(origin.url("/cn.xml")).content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.encoding.lower() == "gb18030"
    assert feed.feed.title == "中文频道"
    assert [e.title for e in feed.entries] == titles
    assert feed.entries[0].source.title == "新华社"


def test_make_atom_parses_with_feedparser() -> None:
    data = make_atom(
        [
            {
                "guid": "urn:x:1",
                "title": "Atom one",
                "link": "https://example.org/a1",
                "description": "sum",
                "content": "<p>body</p>",
                "pubDate": "2023-11-01T08:00:00+08:00",
                "author": "Li Lei",
                "source": "Origin Site",
                "publisher": "Pub",
                "categories": ["a"],
            }
        ],
        title="Atom feed",
        encoding="gb18030",
    )
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    e = feed.entries[0]
    assert (e.id, e.title, e.link, e.summary) == ("urn:x:1", "Atom one", "https://example.org/a1", "sum")
    assert e.content[0].value == "<p>body</p>"
    assert e.published_parsed is not None and e.updated == "2023-11-01T08:00:00+08:00"
    assert e.author == "Li Lei" and e.source.title == "Origin Site" and e.publisher == "Pub"
    assert [t.term for t in e.tags] == ["a"]
