"""`fieldstone-usage`: the usage service process."""

from __future__ import annotations

from fieldstone.common.settings import load_settings
from fieldstone.service import run
from fieldstone.usage.bootstrap import MIGRATIONS, build
from fieldstone.usage.config import UsageSettings


def main() -> None:
    run("usage", load_settings(UsageSettings), MIGRATIONS, build)
