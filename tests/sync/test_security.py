"""Head office refuses what it must: wrong or unknown devices, revoked ones, replays, stale
timestamps, path tricks, oversized bodies, content that does not match its hash; and it
logs no secret."""

import hashlib
import http.client
import json
import time

import pytest

from edge_app.sync.signing import sign
from edge_app.sync.transport import HQClient, Refused
from hq_process import HQ

JPEG = b"\xff\xd8\xff\xe0" + b"photo bytes" * 100
SHA = hashlib.sha256(JPEG).hexdigest()


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    h = HQ(tmp_path_factory.mktemp("hq") / "hq").start()
    h.secret = h.add_device("jetson-1")
    yield h
    h.stop()


def raw(hq, method, path, body=b"", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", hq.port, timeout=10)
    try:
        c.request(method, path, body=body or None, headers={"Content-Length": str(len(body))} | (headers or {}))
        r = c.getresponse()
        return r.status, r.read(), r
    finally:
        c.close()


def signed(hq, method, path, body=b"", secret=None, device="jetson-1", **kw):
    h = sign(secret or hq.secret, method, path, hashlib.sha256(body).hexdigest(), device, **kw)
    return h


def test_a_good_request_passes_and_the_same_request_replayed_is_refused(hq):
    h = signed(hq, "HEAD", f"/blobs/{SHA}")
    assert raw(hq, "HEAD", f"/blobs/{SHA}", headers=h)[0] == 404
    status, _, r = raw(hq, "HEAD", f"/blobs/{SHA}", headers=h)
    assert status == 401 and r.getheader("X-Edge-Error") == "replayed request"


@pytest.mark.parametrize("case", ["unsigned", "wrong secret", "unknown device", "stale", "future", "tampered body",
                                  "other path"])
def test_forged_or_stale_requests_get_401(hq, case):
    body = JPEG
    path = f"/blobs/{SHA}"
    h = signed(hq, "PUT", path, body)
    if case == "unsigned":
        h = {}
    elif case == "wrong secret":
        h = signed(hq, "PUT", path, body, secret="f" * 64)
    elif case == "unknown device":
        h = signed(hq, "PUT", path, body, device="stranger")
    elif case == "stale":
        h = signed(hq, "PUT", path, body, timestamp=int(time.time()) - 3600)
    elif case == "future":
        h = signed(hq, "PUT", path, body, timestamp=int(time.time()) + 3600)
    elif case == "tampered body":
        h = signed(hq, "PUT", path, b"something else")
    elif case == "other path":
        h = signed(hq, "PUT", "/blobs/" + "0" * 64, body)
    status, out, _ = raw(hq, "PUT", path, body, h)
    assert status in (401, 422), (case, status, out)
    assert status == 401 or case == "tampered body"
    assert not (hq.data / "blobs" / SHA[:2] / SHA).exists()


def test_a_revoked_device_is_refused_and_a_readded_one_gets_a_new_secret(hq):
    secret = hq.add_device("tablet-9")
    cli = HQClient(hq.url, "tablet-9", secret)
    assert cli.request("HEAD", f"/blobs/{SHA}").status == 404
    assert hq.cli("revoke-device", "tablet-9").returncode == 0
    with pytest.raises(Refused) as e:
        cli.request("HEAD", f"/blobs/{SHA}")
    assert e.value.status == 401
    new = hq.add_device("tablet-9")
    assert new != secret and len(new) == 64
    with pytest.raises(Refused):
        cli.request("HEAD", f"/blobs/{SHA}")  # the old secret stays dead
    assert HQClient(hq.url, "tablet-9", new).request("HEAD", f"/blobs/{SHA}").status == 404


def test_content_that_does_not_match_its_hash_is_refused(hq):
    cli = HQClient(hq.url, "jetson-1", hq.secret)
    fake = "a" * 64
    with pytest.raises(Refused) as e:  # signed as that photo, but the bytes are another
        cli.request("PUT", f"/blobs/{fake}", body=JPEG, body_sha256=fake)
    assert e.value.status == 422 and "does not match" in str(e.value)  # re-hashed on arrival
    with pytest.raises(Refused) as e:
        cli.request("PUT", f"/blobs/{fake}", body=JPEG)  # signed with the body's hash, under another name
    assert e.value.status == 422
    assert not (hq.data / "blobs" / "aa" / fake).exists()
    r = cli.request("PUT", f"/blobs/{SHA}", body=JPEG, body_sha256=SHA)
    assert r.status == 201 and (hq.data / "blobs" / SHA[:2] / SHA).read_bytes() == JPEG


@pytest.mark.parametrize("path", ["/blobs/../../etc/passwd", "/blobs/%2e%2e%2fmaster.key", "/blobs/" + "A" * 64,
                                  "/blobs/" + "0" * 63, "/blobs/" + "0" * 64 + "/../x", "/blobs/..%2F..%2Fhq.db"])
def test_path_tricks_never_reach_a_file(hq, path):
    cli = HQClient(hq.url, "jetson-1", hq.secret)
    try:
        r = cli.request("PUT", path, body=JPEG)
        status = r.status
    except Refused as e:
        status = e.status
    assert status in (400, 404, 405, 401, 422), (path, status)
    assert (hq.data / "master.key").stat().st_size == 32
    assert not any(p.name in ("passwd", "x") for p in hq.data.rglob("*"))


def test_oversized_bodies_are_refused_before_reading_them(hq):
    from edge_app.hq.api import MAX_BLOB_BYTES, MAX_MANIFEST_BYTES

    def status_of(method, path, length, extra=None):
        h = signed(hq, method, path, b"") | {"Content-Length": str(length)} | (extra or {})
        c = http.client.HTTPConnection("127.0.0.1", hq.port, timeout=10)
        try:
            c.putrequest(method, path)
            for k, v in h.items():
                c.putheader(k, v)
            c.endheaders()
            c.send(b"x" * 1000)  # the rest never comes: the answer must not wait for it
            return c.getresponse().status
        finally:
            c.close()

    assert status_of("PUT", f"/blobs/{'b' * 64}", MAX_BLOB_BYTES + 1) == 413
    assert status_of("POST", "/manifests", MAX_MANIFEST_BYTES + 1, {"Idempotency-Key": "k" * 20}) == 413


def test_manifests_need_a_key_and_a_sane_shape(hq):
    cli = HQClient(hq.url, "jetson-1", hq.secret)
    with pytest.raises(Refused) as e:
        cli.request("POST", "/manifests", body=b"{}")
    assert e.value.status == 400
    for bad in (b"not json", json.dumps({"spot": {"id": 1, "version": 1}, "photos": []}).encode(),
                json.dumps({"spot": {"id": 1, "version": 1}, "photos": [{"sha256": "../x", "name": "a"}]}).encode()):
        with pytest.raises(Refused) as e:
            cli.request("POST", "/manifests", body=bad, headers={"Idempotency-Key": "key-" + hashlib.md5(bad).hexdigest()})
        assert e.value.status == 422


def test_nothing_logged_leaks_a_secret(hq):
    log = hq.log.read_text(errors="replace")
    assert hq.secret not in log
    assert "X-Edge-Signature" not in log
    key = (hq.data / "master.key").read_bytes().hex()
    assert key not in log
    assert oct((hq.data / "master.key").stat().st_mode)[-3:] == "600"
