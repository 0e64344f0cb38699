"""Extra extraction processes: their own ports, the same database and consumer groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldstone.devstack import Profile, Stack
from fieldstone.devstack.stack import service_of


def test_processes_and_ports(tmp_path: Path) -> None:
    profile = Profile(state_dir=tmp_path, grpc_base=30100, extraction_workers=3)
    assert profile.processes() == (
        "auth", "usage", "files", "webhooks", "extraction", "extraction-2", "extraction-3", "gateway",
    )  # fmt: skip
    ports = [profile.grpc_port(p) for p in profile.processes() if p != "gateway"]
    ports += [profile.metrics_port(p) for p in profile.processes() if p != "gateway"]
    assert len(set(ports)) == len(ports)  # no two processes share a port
    assert service_of("extraction-3") == "extraction" and service_of("files") == "files"
    with pytest.raises(ValueError, match=r"numbered 2\.\.19"):
        profile.grpc_port("extraction-20")
    assert Profile(state_dir=tmp_path).processes()[4:6] == ("extraction", "gateway")


def test_an_extra_extraction_process_shares_the_database_and_the_consumer_groups(tmp_path: Path) -> None:
    stack = Stack(Profile(name="t", state_dir=tmp_path, grpc_base=30100, extraction_workers=2))
    main, extra = stack.env("extraction"), stack.env("extraction-2")
    assert extra["EXTRACTION_GRPC_PORT"] == "30122" and main["EXTRACTION_GRPC_PORT"] == "30103"
    assert extra["EXTRACTION_METRICS_PORT"] != main["EXTRACTION_METRICS_PORT"]
    same = {k: v for k, v in main.items() if not k.endswith(("_GRPC_PORT", "_METRICS_PORT"))}
    assert {k: extra[k] for k in same} == same  # database, groups, storage, neighbours
    assert stack.running_processes() == stack.p.processes()
    (tmp_path / "run" / "extraction-5.pid").write_text("0")  # one started by hand (e.g. a test)
    assert stack.running_processes()[-1] == "extraction-5"


def test_a_process_that_exited_during_start_up_is_reported_at_once(tmp_path: Path) -> None:
    """A child that died is a zombie until reaped: it must not count as running (no 3-minute wait)."""
    import subprocess
    import sys
    import time

    stack = Stack(Profile(name="t", state_dir=tmp_path, grpc_base=30100))
    child = subprocess.Popen([sys.executable, "-c", "print('migration changed after it was applied'); raise SystemExit(1)"],
                             stdout=stack.log_file("files").open("w"), stderr=subprocess.STDOUT)  # fmt: skip
    stack.pid_file("files").write_text(str(child.pid))
    time.sleep(1.0)  # exited, not reaped
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"files exited during start-up:\nmigration changed"):
        stack.wait_healthy(("files",), timeout=60)
    assert time.monotonic() - started < 5
