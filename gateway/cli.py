"""The ``cpts-gateway`` command line (also ``python -m gateway``)."""

from __future__ import annotations

import argparse
import os
import ssl
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gateway.settings import Settings, get_settings
from gateway.storage import migrate
from gateway.storage.db import make_engine, read_transaction, write_transaction
from gateway.storage.store import ResourceStore, build_store

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 4
# Resources the gateway writes itself at start (indicator and protocol definitions): a database holding only these is
# still empty for `demo --if-empty`.
GATEWAY_DEFINITIONS = ("Measure", "PlanDefinition")


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-23") from exc


def _workers(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers from 1 to 64")
    return int(text)


def _store(settings: Settings) -> ResourceStore:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    return build_store(engine, settings)


def _worker_environment(updates: dict[str, object]) -> dict[str, str]:
    """The ``CPTS_*`` variables that give uvicorn's worker processes the options of this command line."""
    return {f"CPTS_{name.upper()}": str(value) for name, value in updates.items() if value is not None}


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from gateway.api.balance import loads_path
    from gateway.app import ProductionRefused, create_app
    from mappings.issues import MappingFileError
    from security.external import ExternalIssuersError
    from security.mtls import AllowListError, TlsHttpProtocol

    updates: dict[str, object] = {"mllp_port": args.mllp_port} if args.mllp_port is not None else {}
    updates["serving_process"] = True  # a process of its own: tune its garbage collector (gateway/runtime.py)
    for option in ("host", "port", "workers"):
        if getattr(args, option):
            updates[option] = getattr(args, option)
    for option in ("tls_cert_file", "tls_key_file", "tls_client_ca_file"):
        if getattr(args, option) is not None:
            updates[option] = getattr(args, option)
    settings = settings.model_copy(update=updates)
    if settings.workers > 1 and settings.mllp_port is not None:
        print(
            f"cpts-gateway: --workers {settings.workers} cannot serve MLLP: one port takes one listener; serve MLLP "
            "from a process of its own (--workers 1 --mllp-port N)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    tls: dict[str, Any] = {"ssl_certfile": settings.tls_cert_file, "ssl_keyfile": settings.tls_key_file}
    if settings.tls_client_ca_file is not None:
        tls |= {"ssl_ca_certs": settings.tls_client_ca_file, "ssl_cert_reqs": ssl.CERT_OPTIONAL}
    tls_problem = next(
        (f"{path} cannot be read" for path in tls.values() if isinstance(path, Path) and not path.is_file()), None
    )
    if (settings.tls_key_file or settings.tls_client_ca_file) and settings.tls_cert_file is None:
        tls_problem = "--tls-key and --tls-client-ca need --tls-cert (CPTS_TLS_CERT_FILE)"
    if tls_problem:
        print(f"cpts-gateway: TLS: {tls_problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        app = create_app(settings)  # also creates the development keys, once, before any worker starts
    except (ProductionRefused, ExternalIssuersError, AllowListError, MappingFileError) as exc:  # incl. measure files
        print(f"cpts-gateway: {exc}", file=sys.stderr)
        return EXIT_FAILED
    options: dict[str, Any] = tls | {"http": TlsHttpProtocol} if settings.tls_cert_file else {}
    options |= {"host": settings.host, "port": settings.port, "log_config": None}
    if settings.workers == 1:
        uvicorn.run(app, **options)
        return EXIT_OK
    migrate.upgrade(app.state.engine)  # once here: the workers' own start-up then finds the schema up to date
    app.state.engine.dispose()
    os.environ.update(_worker_environment(updates))  # each worker builds its app from these settings
    try:
        uvicorn.run("gateway.app:create_app", factory=True, workers=settings.workers, **options)
    finally:
        loads_path(os.getpid()).unlink(missing_ok=True)  # the workers' shared loads (gateway/api/balance.py)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.demo import DemoOptions
    from gateway.demo.credentials import print_credentials, register_demo_clients
    from gateway.demo.exports import ExportRejected, ingest_exports, write_exports
    from gateway.demo.loader import DemoInvalid, load_demo

    store = _store(settings)
    start = args.start or datetime.now(settings.tz).date()
    options = DemoOptions(centres=args.centres, days=args.days, seed=args.seed, start=start, timezone=settings.timezone)
    if args.if_empty:
        with read_transaction(store.engine) as conn:
            existing = store.count(conn) - sum(store.count(conn, kind) for kind in GATEWAY_DEFINITIONS)
        if existing:
            print(f"demo: the database already holds {existing} resources; nothing seeded")
            print_credentials(register_demo_clients(settings, store.engine, options), sys.stdout)
            return EXIT_OK
    started = time.perf_counter()
    try:
        counts = load_demo(store, options, validate=not args.no_validate)
    except DemoInvalid as exc:
        print(f"demo: a generated resource is invalid: {exc}", file=sys.stderr)
        return EXIT_FAILED
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    print(f"demo territory: {args.centres} centres from {start}, {total} resources in {elapsed:.1f} s")
    for resource_type, number in sorted(counts.items()):
        print(f"  {resource_type:<18} {number:>8}")
    if args.exports:
        paths = write_exports(options, args.exports)
        print(f"back-office exports: {len(paths)} files under {args.exports}")
    if not args.no_backoffice:
        started = time.perf_counter()
        try:
            records = ingest_exports(settings, store.engine, options)
        except ExportRejected as exc:
            print(f"demo: a back-office export was refused: {exc}", file=sys.stderr)
            return EXIT_FAILED
        elapsed = time.perf_counter() - started
        accepted = records["accepted"]
        print(f"back-office exports (opening hours, calls, acts, claims): {accepted} records in {elapsed:.1f} s")
    print_credentials(register_demo_clients(settings, store.engine, options), sys.stdout)
    return EXIT_OK


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    started = time.perf_counter()
    with write_transaction(store.engine) as conn:
        total = store.reindex(conn, args.type or None)
    print(f"reindexed {total} resources in {time.perf_counter() - started:.1f} s")
    return EXIT_OK


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    print(f"database at revision {migrate.current_revision(engine)}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cpts-gateway", description="CPTS interoperability gateway")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the FHIR API")
    serve.add_argument("--host", default=None, help="address to listen on (default CPTS_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default CPTS_PORT, 8080)")
    serve.add_argument("--mllp-port", type=int, default=None, help="also listen for HL7 v2 over MLLP on this port")
    serve.add_argument("--tls-cert", dest="tls_cert_file", type=Path, help="serve HTTPS with this PEM certificate")
    serve.add_argument("--tls-key", dest="tls_key_file", type=Path, help="the PEM private key of --tls-cert")
    serve.add_argument(
        "--tls-client-ca", dest="tls_client_ca_file", type=Path, help="accept client certificates of this CA (mTLS)"
    )
    serve.add_argument(
        "--workers", type=_workers, default=None, help="worker processes answering the API (default CPTS_WORKERS, 1)"
    )
    serve.set_defaults(handler=cmd_serve)

    demo = commands.add_parser("demo", help="seed a synthetic, realistic CPTS territory")
    demo.add_argument("--centres", type=int, default=12, help="number of health centres (default 12)")
    demo.add_argument("--days", type=int, default=28, help="days of agenda before and after the start date")
    demo.add_argument("--seed", type=int, default=1, help="random seed (same seed and start: same territory)")
    demo.add_argument("--start", type=_parse_date, default=None, help="start date (default: today)")
    demo.add_argument("--if-empty", action="store_true", help="seed only when the database holds no resource")
    demo.add_argument("--no-validate", action="store_true", help="skip FHIR validation of the generated resources")
    demo.add_argument(
        "--exports", type=Path, metavar="DIR", help="also write the back-office CSV exports as DIR/<FINESS>/<kind>.csv"
    )
    demo.add_argument(
        "--no-backoffice", action="store_true", help="skip the back-office exports (calls, acts, claims, opening hours)"
    )
    demo.set_defaults(handler=cmd_demo)

    reindex = commands.add_parser("reindex", help="rebuild the search indexes from the stored resources")
    reindex.add_argument("--type", action="append", help="only this resource type (repeatable)")
    reindex.set_defaults(handler=cmd_reindex)

    migrate_cmd = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate_cmd.set_defaults(handler=cmd_migrate)

    from gateway.ingest.console import add_commands

    add_commands(commands)
    from security.audit_console import add_commands as add_audit_commands

    add_audit_commands(commands)
    from security.console import add_commands as add_security_commands

    add_security_commands(commands)
    from security.crypto_console import add_commands as add_crypto_commands

    add_crypto_commands(commands)
    from gateway.subscriptions.console import add_commands as add_subscription_commands

    add_subscription_commands(commands)

    from conformance.console import add_commands as add_conformance_commands

    add_conformance_commands(commands)

    from gateway.indicators.console import add_commands as add_indicator_commands

    add_indicator_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    from gateway.telemetry import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    handler = args.handler
    result: int = handler(args, settings)
    return result


__all__ = ["build_parser", "main"]
