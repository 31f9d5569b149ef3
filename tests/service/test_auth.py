"""Optional API keys: every route but /healthz and /readyz needs one; per-key rate limit.

In process (``make_api``, tests/service/conftest.py): keys and limits are the API's own business; the
rate limiter runs on a clock the test steps (the limiter itself: tests/service/test_rate_limit.py)."""

from __future__ import annotations

from tests.service.helpers import TINY, Clock


def test_keys_are_required_when_configured(make_api):
    client = make_api(api_keys="alpha-key, beta-key", rate_limit_per_minute=1000).client
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "hosts" not in ready.json()["checks"]["workers"]  # open, names no host
    assert client.get("/metrics").status_code == 401  # Prometheus sends a key as its bearer token
    assert client.get("/metrics", headers={"Authorization": "Bearer alpha-key"}).status_code == 200
    for method, path in [
        ("GET", "/v1/profiles"),
        ("GET", "/v1/models"),
        ("GET", "/v1/generations"),
        ("POST", "/v1/generations"),
        ("GET", "/v1/generations/whatever"),
        ("GET", "/v1/generations/whatever/events"),
        ("POST", "/v1/generations/whatever/cancel"),
    ]:
        response = client.request(method, path, json=TINY if method == "POST" else None)
        assert response.status_code == 401, (path, response.text)
        assert (
            response.json()["error"]["code"] == "api_key_required" and response.headers["WWW-Authenticate"] == "Bearer"
        )
    wrong = client.get("/v1/profiles", headers={"Authorization": "Bearer alpha-kex"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "api_key_invalid"
    assert client.get("/v1/profiles", headers={"Authorization": "Bearer alpha-key"}).status_code == 200
    assert client.get("/v1/models", headers={"X-API-Key": "beta-key"}).status_code == 200
    created = client.post("/v1/generations", json=TINY, headers={"X-API-Key": "beta-key"})
    assert created.status_code == 202
    job_url = f"/v1/generations/{created.json()['id']}"
    assert client.get(job_url, headers={"X-API-Key": "beta-key"}).status_code == 200
    assert client.get(job_url, headers={"X-API-Key": "alpha-key"}).status_code == 404  # beta's job (test_tenancy.py)


def test_rate_limit_per_key(make_api):
    clock = Clock(60 * 29_000_000 + 30.0)  # half-way through a one-minute window
    client = make_api(api_keys="alpha-key,beta-key", rate_limit_per_minute=3, clock=clock).client
    alpha = {"Authorization": "Bearer alpha-key"}
    codes = [client.get("/v1/models", headers=alpha).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/v1/models", headers=alpha)
    assert limited.headers["Retry-After"] == "31" and limited.json()["error"]["code"] == "rate_limited"
    assert client.get("/v1/models", headers={"X-API-Key": "beta-key"}).status_code == 200  # per key
    assert client.get("/v1/models", headers={"X-API-Key": "nobody"}).status_code == 401  # the key is checked first
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 503  # never limited
    clock.now += 31  # the next window
    assert client.get("/v1/models", headers=alpha).status_code == 200


def test_the_openapi_document_declares_both_ways_to_send_a_key(api):
    document = api.client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {**schemes["HTTPBearer"], "type": "http", "scheme": "bearer"}
    assert schemes["APIKeyHeader"]["name"] == "X-API-Key" and schemes["APIKeyHeader"]["in"] == "header"
    assert document["paths"]["/v1/generations"]["post"]["security"] == [{"HTTPBearer": []}, {"APIKeyHeader": []}]
    assert "security" not in document["paths"]["/healthz"]["get"]  # open to load balancers
