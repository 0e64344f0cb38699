import json
from datetime import UTC, datetime
from ipaddress import ip_network

import pytest

from fieldstone.common.errors import ValidationFailed
from fieldstone.common.ids import is_valid_id
from fieldstone.webhooks.domain import model

OUTCOME = model.ExtractionOutcome(
    extraction_id="ext_1",
    workspace_id="ws_1",
    file_id="file_1",
    template_id="tpl_1",
    status="failed",
    error_code="UNREADABLE_PDF",
    occurred_at=datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC),
)


def _url(url: str, *, insecure: bool = False, allowed: str = "") -> str:
    networks = tuple(ip_network(c) for c in allowed.split(",") if c)
    return model.validate_url(url, allow_insecure_http=insecure, allowed_networks=networks)


def test_https_url_is_accepted() -> None:
    assert _url(" https://hooks.example.com/fieldstone?x=1 ") == "https://hooks.example.com/fieldstone?x=1"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "required"),
        ("http://hooks.example.com/", "https"),
        ("ftp://hooks.example.com/", "https"),
        ("hooks.example.com/path", "https"),
        ("https:///path", "host"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://hooks.example.com:99999/", "valid URL"),
        ("https://10.0.0.5/hook", "may not be sent"),
        ("https://[::1]/hook", "may not be sent"),
        ("https://example.com/" + "a" * 2048, "2048"),
    ],
)
def test_bad_urls_are_rejected_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        _url(url)


def test_http_and_allow_listed_literals_when_the_operator_says_so() -> None:
    assert _url("http://127.0.0.1:8080/hook", insecure=True, allowed="127.0.0.0/8")
    with pytest.raises(ValidationFailed):
        _url("http://127.0.0.1:8080/hook", insecure=True)


def test_event_types_default_and_validation() -> None:
    assert model.validate_event_types([]) == ["extraction.completed", "extraction.failed"]
    assert model.validate_event_types(
        ["extraction.canceled", "extraction.completed", "extraction.canceled"]
    ) == [
        "extraction.completed",
        "extraction.canceled",
    ]
    with pytest.raises(ValidationFailed, match=r"extraction\.started"):
        model.validate_event_types(["extraction.started"])


def test_cloud_event_types_map_to_webhook_types() -> None:
    assert model.webhook_type_for("fieldstone.extraction.completed.v1") == "extraction.completed"
    assert model.webhook_type_for("fieldstone.extraction.failed.v1") == "extraction.failed"
    assert model.webhook_type_for("fieldstone.extraction.canceled.v1") == "extraction.canceled"
    assert model.webhook_type_for("fieldstone.extraction.queued.v1") is None


def test_payload_is_small_and_links_to_the_result() -> None:
    payload = model.extraction_payload("extraction.failed", OUTCOME, "https://api.example.com/")
    assert payload == {
        "type": "extraction.failed",
        "timestamp": "2025-03-04T05:06:07.890Z",
        "data": {
            "extractionId": "ext_1",
            "status": "failed",
            "templateId": "tpl_1",
            "fileId": "file_1",
            "workspaceId": "ws_1",
            "errorCode": "UNREADABLE_PDF",
            "resultUrl": "https://api.example.com/v1/extractions/ext_1/result",
        },
    }


def test_error_code_is_left_out_when_there_is_none() -> None:
    ok = model.ExtractionOutcome(**{**OUTCOME.__dict__, "status": "completed", "error_code": ""})
    assert "errorCode" not in model.extraction_payload("extraction.completed", ok, "http://x")["data"]


def test_body_keeps_type_timestamp_data_order_whatever_the_storage_order() -> None:
    payload = model.extraction_payload("extraction.failed", OUTCOME, "http://x")
    data = dict(sorted(payload["data"].items()))  # as jsonb might hand it back
    shuffled = {"data": data, "timestamp": payload["timestamp"], "type": payload["type"]}
    body = model.render_body(shuffled)
    assert body.startswith(b'{"type":"extraction.failed","timestamp":')
    assert b'"data":{"extractionId":"ext_1","status":"failed",' in body
    assert json.loads(body) == payload
    assert body == model.render_body(payload)


def test_response_body_is_kept_up_to_20_kib() -> None:
    assert len(model.excerpt(b"x" * 50_000)) == 20 * 1024
    assert model.excerpt(b"\xff ok\x00") == "\ufffd ok\ufffd"


def test_event_ids_are_stable_per_occurrence_and_endpoint() -> None:
    at = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    first = model.stable_event_id("msg_1", "whep_a", at)
    assert first == model.stable_event_id("msg_1", "whep_a", at)
    assert is_valid_id(first, "evt")
    assert first != model.stable_event_id("msg_1", "whep_b", at)
    assert first != model.stable_event_id("msg_2", "whep_a", at)
    # Time-sortable like every id: a later occurrence sorts after.
    assert model.stable_event_id("msg_0", "whep_a", at.replace(second=8)) > first


def test_event_filter_is_validated() -> None:
    assert model.validate_event_filter("whep_1", "", "failed") == model.EventFilter("whep_1", None, "failed")
    with pytest.raises(ValidationFailed, match="status"):
        model.validate_event_filter("", "", "lost")
    with pytest.raises(ValidationFailed, match="type"):
        model.validate_event_filter("", "extraction.started", "")


@pytest.mark.parametrize(("code", "ok"), [(200, True), (204, True), (299, True), (301, False), (500, False)])
def test_only_2xx_is_success(code: int, ok: bool) -> None:
    assert model.is_success(code) is ok
    assert model.is_success(None) is False
