"""Runs last (file order): no secret reached any log line the suite's stack produced."""

from __future__ import annotations

import re

import pytest

from fieldstone.devstack import SERVICES, Stack

pytestmark = pytest.mark.e2e

SECRETS = [
    ("a full API key", re.compile(r"fsk_live_[0-9A-Za-z]{36}")),
    ("a webhook secret", re.compile(r"whsec_[A-Za-z0-9+/=]{16,}")),
    ("an Authorization header", re.compile(r"Bearer\s+\S{12,}", re.IGNORECASE)),
    ("a SHA-256 key hash", re.compile(r"\b[0-9a-f]{64}\b")),
]


def test_no_secret_in_any_service_log(stack: Stack) -> None:
    lines = 0
    for service in SERVICES:
        text = stack.log_file(service).read_text(errors="replace")
        lines += text.count("\n")
        for what, pattern in SECRETS:
            found = pattern.search(text)
            assert found is None, (
                f"{service}.log contains {what}: …{text[max(0, found.start() - 80) : found.end()]}"
            )
    assert lines > 50  # the suite really produced logs to look at
