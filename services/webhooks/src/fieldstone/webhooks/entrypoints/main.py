"""`fieldstone-webhooks`: the webhooks service process."""

from __future__ import annotations

from fieldstone.common.settings import load_settings
from fieldstone.service import run
from fieldstone.webhooks.bootstrap import MIGRATIONS, build
from fieldstone.webhooks.config import WebhooksSettings


def main() -> None:
    run("webhooks", load_settings(WebhooksSettings), MIGRATIONS, build)
