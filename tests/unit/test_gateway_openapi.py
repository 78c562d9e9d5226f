"""The merged API document: public paths rewritten under /api, internal ones hidden, schemas namespaced."""

from gateway.openapi import merge


def spec(service: str, *paths: str) -> dict:
    ref = {"$ref": "#/components/schemas/ItemRead"}
    return {
        "openapi": "3.1.0",
        "paths": {path: {"get": {"operationId": "op", "responses": {"200": {"content": {"application/json": {
            "schema": ref}}}}}} for path in paths},
        "components": {"schemas": {"ItemRead": {"title": f"{service} item", "type": "object"}}},
    }


def test_paths_are_exposed_under_api_and_internal_ones_are_hidden():
    document = merge({
        "users": spec("users", "/users/register", "/users/me", "/health/ready", "/metrics"),
        "products": spec("products", "/products/{id}", "/products/internal/reserve"),
        "orders": None,
    })
    assert set(document["paths"]) == {"/api/users/register", "/api/users/me", "/api/products/{id}"}
    assert document["x-unavailable-services"] == ["orders"]


def test_schemas_are_namespaced_per_service_so_names_cannot_clash():
    document = merge({"users": spec("users", "/users/me"), "products": spec("products", "/products/{id}")})
    schemas = document["components"]["schemas"]
    assert schemas["users.ItemRead"]["title"] == "users item"
    assert schemas["products.ItemRead"]["title"] == "products item"
    response = document["paths"]["/api/products/{id}"]["get"]["responses"]["200"]
    assert response["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/products.ItemRead"


def test_public_operations_need_no_token_and_others_do():
    document = merge({"users": spec("users", "/users/register", "/users/me")})
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/api/users/me"]["get"].get("security") is None
    # GET /api/users/register is not a public route (only POST is): it keeps the global requirement.
    assert document["paths"]["/api/users/register"]["get"].get("security") is None
    products = merge({"products": spec("products", "/products/{id}")})
    assert products["paths"]["/api/products/{id}"]["get"]["security"] == []
    assert products["paths"]["/api/products/{id}"]["get"]["operationId"] == "products_op"
