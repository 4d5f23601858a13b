"""Service endpoints: health-check, version, probes, metrics, error bodies."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import gateway
from gateway.app import create_app
from tests.helpers import free_port, make_settings


def test_health_check_answers_ok(client: TestClient) -> None:
    response = client.get("/health-check")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_version_is_the_package_version(client: TestClient) -> None:
    assert client.get("/version").json() == {"version": gateway.__version__}


def test_ready_when_elasticsearch_serves(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert client.get("/livez").status_code == 200


def test_not_ready_fast_when_elasticsearch_is_unreachable(tmp_path: object) -> None:
    settings = make_settings(es_url=f"http://127.0.0.1:{free_port()}", es_request_timeout=2)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "elasticsearch_unavailable"
        assert client.get("/livez").status_code == 200  # alive, just not ready
        assert client.get("/health-check").status_code == 200


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_wrong_method_is_a_json_405(client: TestClient) -> None:
    response = client.post("/version")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/health-check")
    client.get("/health-check")
    client.get("/secret-looking-path-1b7789f0")
    text = client.get("/metrics").text
    assert 'gateway_http_requests_total{method="GET",route="/health-check",status="200"} 2.0' in text
    assert "secret-looking-path" not in text
    assert 'route="<unmatched>",status="404"' in text


def test_openapi_describes_the_service_endpoints(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/health-check", "/version", "/livez", "/readyz", "/metrics"} <= set(spec["paths"])
    assert spec["paths"]["/readyz"]["get"]["summary"].startswith("Readiness probe")


def test_access_log_lines_name_route_templates(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client.get("/health-check")
    client.get("/no/such/1b7789f0-6c2f")
    client.app.state.recorder.access_log.flush()  # type: ignore[attr-defined]
    lines = capsys.readouterr().err.splitlines()
    assert any(line.endswith('INFO gateway.access: testclient "GET /health-check" 200 ' + line.split()[-1])
               for line in lines)  # fmt: skip
    assert any('"GET <unmatched>" 404' in line for line in lines)
    assert not any("1b7789f0" in line for line in lines)


def test_access_log_can_be_turned_off(
    es_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(es_url=es_url, state_dir=tmp_path, access_log=False)
    with TestClient(create_app(settings)) as client:
        client.get("/health-check")
    assert "gateway.access" not in capsys.readouterr().err
