"""`fieldstone-auth`: the auth service process."""

from __future__ import annotations

from fieldstone.auth.bootstrap import MIGRATIONS, build
from fieldstone.auth.config import AuthSettings
from fieldstone.common.settings import load_settings
from fieldstone.service import run


def main() -> None:
    run("auth", load_settings(AuthSettings), MIGRATIONS, build)
