"""The admin CLI's arguments, refused before anything is opened."""

from __future__ import annotations

import pytest

from fieldstone.usage.entrypoints import admin


@pytest.mark.parametrize(
    "argv",
    [
        ["set-plan", "--workspace-id", "ws_1", "--plan", "gold"],
        ["set-plan", "--plan", "core"],
        ["show"],
        [],
    ],
)
def test_bad_arguments_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        admin.main(argv)
    assert exc.value.code == 2
    assert "usage: fieldstone-usage-admin" in capsys.readouterr().err
