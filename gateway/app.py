"""The FastAPI application: settings, storage (migrated at start), routes, middleware and error rendering."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import __version__
from gateway.api import audit, capacity, conformance, fhir, ingest, oauth, ops, slot_capacity, subscriptions
from gateway.api import indicators as indicator_routes
from gateway.api import pathways as pathway_routes
from gateway.api.balance import ConnectionBalancer, WorkerLoads, loads_path
from gateway.api.limits import BodyLimitMiddleware
from gateway.api.wire import FhirJSONResponse
from gateway.dashboard import install_dashboard
from gateway.errors import GatewayError, InvalidRequest, Issue, MethodNotAllowed, NotFound, operation_outcome
from gateway.fhir.service import FhirService
from gateway.fhir.transaction import BundleProcessor
from gateway.indicators.loader import load_measures, store_measures
from gateway.indicators.worker import RollupWorker
from gateway.ingest.mllp import MllpIngest
from gateway.ingest.pipeline import Pipeline
from gateway.ingest.worker import IngestWorker
from gateway.mllp import MllpServer
from gateway.parent import on_parent_exit
from gateway.pathways.loader import publish_protocols, read_protocols
from gateway.runtime import warm_and_freeze
from gateway.settings import Settings, get_settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from gateway.subscriptions.delivery import Deliverer
from gateway.subscriptions.worker import SubscriptionWorker
from gateway.telemetry import Metrics, TelemetryMiddleware, configure_logging
from security.audit import AuditTrail
from security.auditing import AuditMiddleware
from security.ledger import current
from security.production import production_problems
from security.ratelimit import RateLimiter
from security.setup import build_authenticator

log = logging.getLogger("cpts.app")


class ProductionRefused(RuntimeError):
    """CPTS_ENV=production with settings that would leave the gateway open (security/production.py)."""


def _error_response(error: GatewayError) -> Response:
    return FhirJSONResponse(error.to_operation_outcome(), error.status, error.headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def gateway_error(_request: Request, exc: GatewayError) -> Response:
        current().error = exc.code  # the request's AuditEvent carries the refusal's reason
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def request_error(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error_response(InvalidRequest(f"invalid request: {first.get('msg', 'bad input')}", expression=where))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error_response(NotFound(f"no such endpoint: {_request.url.path}", expression=_request.url.path))
        if exc.status_code == 405:
            return _error_response(MethodNotAllowed(f"{_request.method} is not allowed on {_request.url.path}"))
        issue = Issue("error", "processing", str(exc.detail))
        return FhirJSONResponse(operation_outcome([issue]), exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        issue = Issue("fatal", "exception", "internal error; the request id in X-Request-ID identifies it in the logs")
        return Response(orjson.dumps(operation_outcome([issue])), 500, media_type=FhirJSONResponse.media_type)


def create_app(
    settings: Settings | None = None,
    *,
    configure_logs: bool = True,
) -> FastAPI:
    """Build the application. ``CPTS_ENV=production`` refuses default keys, an http issuer and open access."""
    settings = settings or get_settings()
    if settings.env == "production":
        problems = production_problems(settings)
        if problems:
            raise ProductionRefused("CPTS_ENV=production refuses these settings: " + "; ".join(problems))
    if configure_logs:
        configure_logging(settings.log_level, settings.log_json)
    engine = make_engine(settings.database_url)

    pipeline = Pipeline(settings, engine)  # loads and validates every mapping file: a bad one stops start-up
    measures = load_measures()  # the indicators' Measures (mappings/measures/): a bad file stops start-up too
    protocols = read_protocols(settings.protocols_dir)  # the pathway protocols (PlanDefinition): likewise

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate.upgrade(engine)
        await run_in_threadpool(store_measures, engine, settings, measures)
        await run_in_threadpool(publish_protocols, engine, settings, protocols)
        worker = IngestWorker(pipeline, settings.ingest_poll_seconds) if settings.ingest_worker else None
        if worker is not None:
            worker.start()
        app.state.worker = worker
        notifier = None
        if settings.subscription_worker:
            notifier = SubscriptionWorker(Deliverer(settings, engine), settings.subscription_poll_seconds)
            notifier.start()
        rollups = None
        if settings.indicator_refresh_seconds > 0:
            rollups = RollupWorker(engine, settings.tz, settings.indicator_refresh_seconds)
            rollups.start()
        app.state.rollups = rollups
        listener = None
        if settings.mllp_port is not None:
            listener = MllpServer(
                MllpIngest(pipeline, settings).handle,
                host=settings.host,
                port=settings.mllp_port,
                max_frame_bytes=settings.mllp_max_frame_bytes,
            )
            await listener.start()
        app.state.mllp = listener
        await run_in_threadpool(lambda: warm_and_freeze(engine, freeze=settings.serving_process, log=log.info))
        if settings.serving_process and settings.workers > 1:  # a worker of `serve --workers N`: its parent serves
            app.state.worker_loads = WorkerLoads.open(loads_path(os.getppid()))
            # a parent killed outright: stop as on SIGTERM (answer what is in flight, hand back the ingest job)
            on_parent_exit(lambda: os.kill(os.getpid(), signal.SIGTERM))
        log.info("ready", extra={"route": settings.database_url.split("://")[0]})
        yield
        if app.state.worker_loads is not None:
            app.state.worker_loads.close()
        if listener is not None:
            await listener.close()
        if worker is not None:
            await worker.stop()
        if notifier is not None:
            await notifier.stop()
        if rollups is not None:
            await rollups.stop()
        threads = getattr(app.state, "request_threads", None)
        if threads is not None:  # the reads and searches still running finish first
            await run_in_threadpool(threads.shutdown)
            app.state.request_threads = None
        engine.dispose()

    app = FastAPI(
        title="cpts-gateway",
        version=__version__,
        lifespan=lifespan,
        default_response_class=FhirJSONResponse,
    )
    service = FhirService(settings, engine)
    metrics = Metrics()
    app.state.settings = settings
    app.state.engine = engine
    app.state.service = service
    app.state.bundles = BundleProcessor(service)
    app.state.metrics = metrics
    app.state.pipeline = pipeline
    app.state.worker = None
    app.state.authenticator = build_authenticator(settings, engine)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.audit = AuditTrail(engine, settings)
    app.include_router(ops.router)
    app.include_router(slot_capacity.router)  # before /fhir/{type}/{id}: "$capacity" is not an id
    app.include_router(pathway_routes.router)  # likewise "$apply"
    app.include_router(indicator_routes.operation_router)  # before /fhir/{type}/{id} too: $evaluate-measure
    app.include_router(fhir.router)
    app.include_router(ingest.router)
    app.include_router(oauth.router)
    app.include_router(audit.router)
    app.include_router(capacity.router)
    install_dashboard(app, settings)  # GET /dashboard: the coordinator's web page (gateway/dashboard/)
    app.include_router(subscriptions.router)
    app.include_router(conformance.router)
    app.include_router(indicator_routes.router)
    _install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, larger={"/ingest/": settings.max_ingest_bytes}
    )
    app.add_middleware(AuditMiddleware, trail=app.state.audit)
    app.add_middleware(TelemetryMiddleware, metrics=metrics)
    app.state.worker_loads = None
    if settings.serving_process and settings.workers > 1:  # outermost: a request counts until it has gone
        app.add_middleware(ConnectionBalancer, state=app.state)
    return app


__all__ = ["ProductionRefused", "create_app"]
