"""Programs pip cannot bring (Debian's Chromium, PostgreSQL): a test that needs one skips
without it and says why, except where CI installed it and says so, with the test's switch set
to 1 (.ci/run exports EDGE_APP_REQUIRE_BROWSER=1 and EDGE_APP_REQUIRE_POSTGRES=1): there a
skip would hide a test that must run, so it fails instead (issue 16: one rule for the browser
and the PostgreSQL tests instead of a copy in each)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def skip_or_fail(reason: str, switch: str) -> NoReturn:
    """Skip with ``reason``; where the environment variable ``switch`` is ``1``, fail with it."""
    if os.environ.get(switch) == "1":
        pytest.fail(f"{reason} ({switch}=1)")
    pytest.skip(reason)
