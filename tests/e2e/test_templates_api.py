"""Templates through the public API: CRUD, versions pinned by extractions, precise validation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from fieldstone.devstack import Stack
from tests.e2e.conftest import INVOICE_VARIABLES, Api, invoice_pdf
from tests.e2e.test_extractions_lifecycle import ended, upload_now

pytestmark = pytest.mark.e2e


def v(key: str = "total", type: str = "number", **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type, "context": "c", **extra}


def nested(depth: int) -> dict[str, Any]:
    inner = v("leaf", "string")
    for level in range(depth - 1):
        inner = v(f"level{level}", "object", fields=[inner])
    return inner


# (what is wrong, the variables, what the message must say)
MALFORMED: list[tuple[str, list[Any], str]] = [
    ("empty list", [], "variables: give a non-empty list of variables"),
    (
        "unknown type",
        [v(type="text")],
        "variables[0].type: 'text' is not one of string, number, date, boolean",
    ),
    ("key with a dot", [v("a.b")], "variables[0].key: 'a.b' must not contain '.'"),
    (
        "duplicate keys",
        [v(), v("date", "date"), v()],
        "variables[2].key: duplicate key 'total' (already used by",
    ),
    (
        "object without fields",
        [v("address", "object")],
        "variables[0] ('address'): an object needs a non-empty",
    ),
    (
        "arrayType on a scalar",
        [v(arrayType="number")],
        "variables[0] ('total'): arrayType is only for variables of type array",
    ),
    (
        "fields on a scalar",
        [v(fields=[v("x")])],
        "variables[0] ('total'): fields are only for objects and arrays of objects",
    ),
    ("bad arrayType", [v("tags", "array", arrayType="date")], "variables[0].arrayType: 'date' is not one of"),
    (
        "array of objects without fields",
        [v("items", "array", arrayType="object")],
        "variables[0] ('items'): an array of objects needs a non-empty fields list",
    ),
    (
        "fields without arrayType object",
        [v("items", "array", arrayType="string", fields=[v()])],
        "fields describe array items only with arrayType 'object'",
    ),
    (
        "deep and wrong",
        [v("party", "object", fields=[v("address", "object", fields=[v("zip", "zipcode")])])],
        "variables[0].fields[0].fields[0].type: 'zipcode' is not one of",
    ),
    ("too deep", [nested(9)], "nested deeper than 8 levels"),
    (
        "too many",
        [v(f"k{i}", "string") for i in range(501)],
        "variables[500]: too many variables; at most 500",
    ),
]


@pytest.fixture(scope="module")
def one_api(stack: Stack) -> Api:
    """One workspace for the whole table (a key per case would cost a second each)."""
    return Api(
        stack.p.url, stack.bootstrap_key(workspace=f"e2e-tpl-{uuid.uuid4().hex[:6]}", plan="pro")["key"]
    )


@pytest.mark.parametrize(("shape", "variables", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_templates_are_refused_with_a_precise_message(
    one_api: Api, shape: str, variables: list[Any], message: str
) -> None:
    api = one_api
    r = api.post("/v1/templates", {"name": "Broken", "variables": variables})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and message in error["message"], error["message"]
    if not variables:
        return  # an extraction without variables needs a templateId instead (tested elsewhere)
    # The same rules hold for inline variables of an extraction.
    inline = api.post(
        "/v1/extractions", {"fileId": "file_01JD0000000000000000000000", "variables": variables}
    )
    assert inline.status_code == 400 and message in inline.json()["error"]["message"]


def test_template_crud_and_versions(api: Api) -> None:
    created = api.post(
        "/v1/templates",
        {"name": "Invoice", "description": "supplier invoices", "variables": INVOICE_VARIABLES},
    )
    assert created.status_code == 201, created.text
    t = created.json()
    assert t["id"].startswith("tpl_") and t["version"] == 1 and t["variables"] == INVOICE_VARIABLES
    assert t["object"] == "template" and t["workspaceId"] and t["createdAt"] == t["updatedAt"]
    assert api.get(f"/v1/templates/{t['id']}").json() == t
    assert [x["id"] for x in api.get("/v1/templates").json()["data"]] == [t["id"]]

    renamed = api.http.patch(f"/v1/templates/{t['id']}", json={"name": "Invoice (EU)"})
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    more = [*INVOICE_VARIABLES, {"key": "currency", "type": "string", "context": "ISO 4217 code"}]
    changed = api.http.patch(f"/v1/templates/{t['id']}", json={"variables": more}).json()
    assert changed["version"] == 3 and changed["name"] == "Invoice (EU)" and changed["variables"] == more
    first = api.get(f"/v1/templates/{t['id']}", params={"version": 1}).json()
    assert (first["version"], first["name"], first["variables"]) == (1, "Invoice", INVOICE_VARIABLES)
    bad = api.http.patch(f"/v1/templates/{t['id']}", json={"variables": [v(type="money")]})
    assert bad.status_code == 400 and "variables[0].type" in bad.json()["error"]["message"]
    assert api.get(f"/v1/templates/{t['id']}").json()["version"] == 3  # a refused change is no version
    assert api.get(f"/v1/templates/{t['id']}", params={"version": 9}).status_code == 404

    assert api.http.delete(f"/v1/templates/{t['id']}").status_code == 204
    gone = api.get(f"/v1/templates/{t['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "NOT_FOUND"
    assert api.get("/v1/templates").json()["data"] == []
    assert api.http.delete(f"/v1/templates/{t['id']}").status_code == 404


def test_an_extraction_pins_the_template_version_and_name_it_used(api: Api) -> None:
    t = api.post("/v1/templates", {"name": "Invoice", "variables": INVOICE_VARIABLES}).json()
    file_id = upload_now(api, invoice_pdf(number="INV-6300"))
    first = api.post("/v1/extractions", {"fileId": file_id, "templateId": t["id"]})
    assert first.status_code == 202, first.text
    assert (first.json()["templateId"], first.json()["templateVersion"]) == (t["id"], 1)
    api.http.patch(f"/v1/templates/{t['id']}", json={"name": "Invoice v2"})
    second = api.post("/v1/extractions", {"fileId": file_id, "templateId": t["id"]}).json()
    assert (second["templateName"], second["templateVersion"]) == ("Invoice v2", 2)

    done = api.poll(f"/v1/extractions/{first.json()['id']}", ended, timeout=30)
    assert done["status"] == "completed" and done["extractedData"]["invoice_number"] == "INV-6300"
    assert (done["templateName"], done["templateVersion"]) == ("Invoice", 1)
    assert done["variables"] == INVOICE_VARIABLES
    listed = api.get("/v1/extractions", params={"templateId": t["id"]}).json()["data"]
    assert {e["id"] for e in listed} == {first.json()["id"], second["id"]}

    both = api.post(
        "/v1/extractions", {"fileId": file_id, "templateId": t["id"], "variables": INVOICE_VARIABLES}
    )
    assert both.status_code == 400 and "either templateId or variables" in both.json()["error"]["message"]
    api.http.delete(f"/v1/templates/{t['id']}")
    deleted = api.post("/v1/extractions", {"fileId": file_id, "templateId": t["id"]})
    assert deleted.status_code == 404 and deleted.json()["error"]["code"] == "NOT_FOUND"
    assert api.get(f"/v1/extractions/{second['id']}").json()["templateName"] == "Invoice v2"


def test_templates_of_another_workspace_do_not_exist(api: Api, one_api: Api) -> None:
    t = api.post("/v1/templates", {"name": "Mine", "variables": INVOICE_VARIABLES}).json()
    other = one_api
    assert other.get(f"/v1/templates/{t['id']}").status_code == 404
    assert other.http.patch(f"/v1/templates/{t['id']}", json={"name": "x"}).status_code == 404
    assert other.http.delete(f"/v1/templates/{t['id']}").status_code == 404
