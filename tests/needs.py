"""What a test needs from the machine (a browser, nginx, redis-server, axe-core): missing, it fails under
NTE_REQUIRE_BROWSER=1 (CI: `.ci/run` sets it) and is skipped loudly elsewhere, never silently."""

from __future__ import annotations

import os
import sys

import pytest


def missing(what: str, message: str) -> None:
    """Fail (CI) or skip with a banner on stderr: ``what`` names the tests, ``message`` says what to install."""
    if os.environ.get("NTE_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    print(f"\n*** SKIPPING {what.upper()}: {message} ***\n", file=sys.stderr)
    pytest.skip(message)
