"""The OpenAPI document describes exactly the API's routes: checked against the URL map both ways."""

import json
import re

from openapi_spec_validator import validate

from reportkit.api.openapi import OPERATIONS, document

PREFIX = "/api/v1"


def _routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len(PREFIX):])
            routes |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def _documented(doc: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}


def test_every_route_is_documented_and_every_documented_route_exists(app):
    routes, documented = _routes(app), _documented(document())
    assert len(routes) > 40
    assert routes - documented == set(), "routes missing from reportkit/api/openapi.py"
    assert documented - routes == set(), "documented routes the app does not have"
    assert len(OPERATIONS) == len(documented)  # no route described twice


def test_served_without_a_token_and_holds_no_data(client, make_user, make_case):
    make_case(make_user())  # a case exists; the document must not show it
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.json
    assert doc["openapi"].startswith("3.1") and doc["paths"]["/openapi.json"]["get"]["security"] == []
    assert "Case A" not in resp.get_data(as_text=True) and "ana@example.org" not in resp.get_data(as_text=True)
    assert client.get("/api/v1/cases").status_code == 401  # the rest of the API still needs a token


def test_references_resolve_and_the_error_shape_is_described():
    doc = document()
    validate(doc)  # a valid OpenAPI 3.1 document (openapi-spec-validator), so generators and clients can read it
    text = json.dumps(doc)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))
    assert refs and refs <= set(doc["components"]["schemas"])
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["required"] == ["code", "message", "fields"] and error["properties"]["fields"]["type"] == "object"
    create = doc["paths"]["/cases/{case_id}/accounts"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AccountCreate"}
    assert create["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert create["x-permission"] == "manage"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            names = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert names == set(re.findall(r"{([^}]+)}", path)), (method, path)


def test_the_document_says_tokens_are_made_in_settings_only():
    doc = document()
    assert ("POST", "/tokens") not in _documented(doc)
    assert "Settings" in doc["info"]["description"] and "mint" in doc["paths"]["/tokens"]["get"]["description"]


def _shape(path: str) -> str:
    return re.sub(r"{[^}]+}", "{}", path)


def test_each_documented_right_is_the_one_the_permission_matrix_checks():
    """The document's `x-permission` of each route and tests/test_permissions.py's row for it agree, and every
    route that needs a right of a case has a row there."""
    from .test_permissions import ROUTES

    documented = {(op.method, _shape(op.path)): op.permission for op in OPERATIONS}
    matrix = {(m, _shape(p[len(PREFIX):])): perm for m, p, perm, _ in ROUTES if p.startswith(PREFIX + "/")}
    workflow = {("POST", "/entries/{}/transitions")}  # the loader needs `read`; each move its own right (reviews.py)
    not_in_matrix = {("POST", "/imports/{}/resume")}  # answers 409 unless an import stopped half way
    for key, permission in matrix.items():
        assert key in documented, key
        assert key in workflow or documented[key] == permission, (key, documented[key], permission)
    case_routes = {key for key, permission in documented.items() if permission}
    assert case_routes - set(matrix) - not_in_matrix == set()
