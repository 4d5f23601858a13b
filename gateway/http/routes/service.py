"""Service endpoints: the original's health-check and version, orchestrator probes, Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway import __version__
from gateway.http.deps import RecorderDep, ServicesDep
from gateway.http.openapi import errors

router = APIRouter(tags=["service"])


@router.get("/health-check", summary="Liveness, as the original product exposes it")
async def health_check() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/version", summary="The gateway's version")
async def version() -> dict[str, str]:
    return {"version": __version__}


@router.get("/livez", summary="Liveness probe: the process serves HTTP")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness probe: Elasticsearch answers and the index templates are applied",
    responses=errors(
        503, described={503: "Elasticsearch is unreachable, red, or templates are not applied yet"}
    ),
)
async def readyz(services: ServicesDep) -> dict[str, Any]:
    cluster_status = await services.check_ready()
    return {"status": "ready", "elasticsearch": cluster_status}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(recorder: RecorderDep) -> Response:
    return Response(generate_latest(recorder.metrics.registry), media_type=CONTENT_TYPE_LATEST)
