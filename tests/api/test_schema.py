"""The OpenAPI schema: valid, served with its Swagger UI from our own static files, and the
conformance check every API test relies on actually refuses what does not conform."""

import json

import pytest
from openapi_spec_validator import validate

from .schema_check import SchemaMismatch, check_response, openapi_schema

pytestmark = pytest.mark.django_db


def test_the_served_schema_passes_the_openapi_validator(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)
    assert schema["paths"], "the schema documents no endpoint"


def test_every_operation_documents_the_error_shape():
    for path, item in openapi_schema()["paths"].items():
        for method, operation in item.items():
            for status in ("400", "401", "404", "429"):
                ref = operation["responses"][status]["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_swagger_ui_loads_from_our_static_files_not_a_cdn(client):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    assert "/static/drf_spectacular_sidecar/" in page


def test_the_conformance_check_refuses_a_body_off_schema():
    with pytest.raises(SchemaMismatch, match="results"):
        check_response("GET", "/api/v1/tokens/", 200, b'{"next": null}', "application/json")
    with pytest.raises(SchemaMismatch, match="does not document"):
        check_response("GET", "/api/v1/tokens/", 418, b"{}", "application/json")
    with pytest.raises(SchemaMismatch, match="not in the schema"):
        check_response("GET", "/api/v1/nowhere/", 200, b"{}", "application/json")
    check_response("GET", "/api/v1/tokens/", 200,
                   b'{"next": null, "previous": null, "results": []}', "application/json")


def test_the_schema_is_built_once_per_process(client, monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    from integrations.api.schema import SchemaView

    monkeypatch.setattr(SchemaView, "_built", {})
    built = []
    real = SchemaGenerator.get_schema

    def counting(self, *args, **kwargs):
        built.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counting)
    first = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    second = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert first.status_code == second.status_code == 200
    assert json.loads(first.content)["paths"]
    assert b"/api/v1/tokens/" in second.content  # YAML this time, from the same schema
    assert len(built) == 1
