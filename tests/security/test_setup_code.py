"""Issue 19: the first visit's one-time setup code, against a real `edge-app serve
--setup-code` and a real `edge-app hq serve` (with $EDGE_APP_HQ_SETUP_CODE=1) on 127.0.0.1.

Someone on the site Wi-Fi who reaches a fresh install first cannot choose its PIN without
the code printed on the device's console: without it, or with a wrong one, /setup refuses
(guesses throttled: 429 with Retry-After, answered at once); the crew lead's tablet, at
another address, types the code and chooses the PIN; the code is used once; a PIN set by
`edge-app set-pin` ends it too. Head office's first password likewise.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))

from edge_app.access.setup_code import SetupCode  # noqa: E402
from hq_process import HQ  # noqa: E402
from live_server import Browser, Server  # noqa: E402

PIN = "4821"
PASSWORD = "본사-첫-비밀번호"


def printed_code(server, timeout: float = 30.0) -> str:
    """The setup code the server printed on its console at start (its log here)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        found = re.search(r"with the setup code (\d{4} \d{4})", server.log.read_text(errors="replace"))
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no setup code printed: {server.log.read_text(errors='replace')[-2000:]}")


def setup_pin(browser: Browser, code: str | None, pin: str = PIN, again: str | None = None) -> tuple[int, str, str]:
    """The first visit's form on the site app: (status, Location, page)."""
    form = {"csrf": browser.csrf("/setup"), "pin": pin, "pin2": again or pin}
    if code is not None:
        form["setup_code"] = code
    return browser.post("/setup", form)


def test_the_code_makes_two_groups_of_four_digits_and_opens_once():
    code, text = SetupCode.new()
    assert re.fullmatch(r"\d{4} \d{4}", text)
    digits = text.replace(" ", "")
    assert digits not in repr(vars(code))  # only a keyed hash is kept
    assert code.matches(text) and code.matches(digits) and code.matches(f"{digits[:4]}-{digits[4:]}")
    assert not code.matches("") and not code.matches(digits[:7]) and not code.matches(digits + "0")
    assert len({SetupCode.new()[1] for _ in range(20)}) > 15  # a fresh one each start
    code.expire()
    assert not code.active and not code.matches(text)


@pytest.fixture
def fresh_device(tmp_path):
    """A fresh install (no PIN yet) started with `edge-app serve --setup-code`."""
    srv = Server(tmp_path / "edge-data", extra=["--setup-code"]).start()
    yield srv
    srv.stop()


def test_the_first_pin_needs_the_code_printed_on_the_console(fresh_device):
    code = printed_code(fresh_device)
    intruder = Browser(fresh_device)  # on the site Wi-Fi, 127.0.0.1 here
    page = intruder.get("/setup")[2]
    assert 'name="setup_code"' in page and "설정 코드" in page
    assert setup_pin(intruder, None)[0] == 401  # no code: the PIN is not chosen
    status, _, page = setup_pin(intruder, "0000 0000")
    assert status == 401 and "설정 코드가 틀렸습니다" in page
    assert intruder.get("/")[:2] == (302, "/setup")  # still no PIN
    # wrong codes from one address: after 5 tries each is 429 at once, the right one too
    answers = []
    for guess in range(8):
        t0 = time.monotonic()
        status, _, _ = setup_pin(intruder, f"{guess:08d}")
        answers.append(status)
        assert time.monotonic() - t0 < 2.0
    assert answers[:2] == [401] * 2 and set(answers[2:]) == {429}  # the 5th wrong try starts the wait
    assert setup_pin(intruder, code)[0] == 429  # locked: the code is not even compared
    assert intruder.get("/")[:2] == (302, "/setup")

    # the crew lead's tablet, at its own address, types the code (spaces and all) and chooses the PIN
    tablet = Browser(fresh_device, source="127.0.0.2")
    tablet.get("/lang/en")
    status, _, page = setup_pin(tablet, code, PIN, again="4822")
    assert status == 400 and "The two PINs differ" in page  # the code stays good for the next try
    assert setup_pin(tablet, code)[:2] == (302, "/")
    assert tablet.get("/")[0] == 200
    # used once: the setup page is gone, the code chooses nothing, the PIN opens the page
    other = Browser(fresh_device, source="127.0.0.3")
    assert other.get("/setup")[:2] == (302, "/login")
    assert other.post("/setup", {"csrf": other.csrf("/login"), "setup_code": code, "pin": "9999",
                                 "pin2": "9999"})[:2] == (302, "/login")
    assert other.login("9999", field="pin") == 401
    assert other.login(PIN, field="pin") == 302


def test_a_pin_set_on_the_command_line_ends_the_code_and_a_restart_prints_none(fresh_device):
    code = printed_code(fresh_device)
    subprocess.run([sys.executable, "-m", "edge_app.cli", "set-pin", "--data", str(fresh_device.data)],
                   input="7305\n", text=True, check=True, capture_output=True)
    tablet = Browser(fresh_device, source="127.0.0.2")
    assert tablet.get("/setup")[:2] == (302, "/login")
    assert tablet.post("/setup", {"csrf": tablet.csrf("/login"), "setup_code": code, "pin": PIN,
                                  "pin2": PIN})[:2] == (302, "/login")
    assert tablet.login(PIN, field="pin") == 401 and tablet.login("7305", field="pin") == 302
    fresh_device.stop()
    again = Server(fresh_device.data, extra=["--setup-code"]).start()
    try:
        assert Browser(again).get("/login")[0] == 200
        log = again.log.read_text(errors="replace")
        assert "setup code" not in log and "no PIN yet" not in log
    finally:
        again.stop()


def test_without_the_option_the_first_visit_chooses_the_pin_as_before(tmp_path):
    srv = Server(tmp_path / "edge-data").start()
    try:
        b = Browser(srv)
        assert 'name="setup_code"' not in b.get("/setup")[2]
        assert setup_pin(b, None)[:2] == (302, "/")
        assert "setup code" not in srv.log.read_text(errors="replace")
    finally:
        srv.stop()


def test_head_offices_first_password_needs_its_code(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGE_APP_HQ_SETUP_CODE", "1")  # as in /etc/edge-app/hq.env, instead of --setup-code
    monkeypatch.setenv("EDGE_APP_HQ_LOGIN_LOCK_S", "30")  # the guesser's wait outlasts the test on a busy machine
    hq = HQ(tmp_path / "hq").start()
    try:
        code = printed_code(hq)
        assert "no password yet: the first visit to the pages chooses it" in hq.log.read_text(errors="replace")

        def choose(who: Browser, code_typed: str | None, password: str = PASSWORD) -> tuple[int, str]:
            form = {"csrf": who.csrf("/setup" if who.get("/setup")[0] == 200 else "/login"),
                    "password": password, "password2": password}
            if code_typed is not None:
                form["setup_code"] = code_typed
            return who.post("/setup", form)[:2]

        guesser = Browser(hq)
        assert guesser.get("/")[:2] == (302, "/setup")
        assert 'name="setup_code"' in guesser.get("/setup")[2]
        assert choose(guesser, None)[0] == 401
        assert [choose(guesser, f"{k:08d}")[0] for k in range(7)] == [401] * 3 + [429] * 4
        assert choose(guesser, code)[0] == 429  # the guessing address waits, whoever it is
        assert guesser.get("/")[:2] == (302, "/setup")

        clerk = Browser(hq, source="127.0.0.2")
        assert choose(clerk, code.replace(" ", "-")) == (302, "/")
        assert clerk.get("/")[0] == 200
        # used once: a later visitor with the code chooses nothing
        assert choose(Browser(hq, source="127.0.0.3"), code, "another-password") == (302, "/login")
        assert Browser(hq).login("another-password") == 401 and Browser(hq).login(PASSWORD) == 302
    finally:
        hq.stop()
