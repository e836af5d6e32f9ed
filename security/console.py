"""The ``clients`` and ``keys`` commands: register OAuth clients, print tokens for the demo ones, rotate signing keys.

Exit codes: 0 done, 3 refused (the registration or the token request was not accepted: the message says why), 4 could
not run (unreadable file, database down). Messages name the option that is wrong; never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from security.keys import SigningKeyError, rotate, signing_key_path, uses_development_keys
from security.oauth.clients import ClientError, ClientRegistry, generate_managed_key, managed_key_path

EXIT_OK, EXIT_REFUSED, EXIT_FAILED = 0, 3, 4


def _engine(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    return engine


def fail(message: str, code: int = EXIT_FAILED) -> int:
    """Say what went wrong on stderr, naming the command, and give the exit code (no traceback)."""
    print(f"cpts-gateway: {message}", file=sys.stderr)
    return code


def _read_jwk(path: Path) -> dict[str, Any]:
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ClientError(f"jwk: {path} cannot be read ({exc.strerror})") from exc
    except orjson.JSONDecodeError as exc:
        raise ClientError(f"jwk: {path} is not JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ClientError(f"jwk: {path} holds no JSON object")
    return document


def cmd_clients_add(args: argparse.Namespace, settings: Settings) -> int:
    if args.generate_key and settings.env == "production":
        return fail(
            "clients add --generate-key is refused when CPTS_ENV=production: register the client's own "
            "public key (--jwk) or JWKS URL",
            EXIT_REFUSED,
        )
    if args.jwks_url and settings.env == "production" and not args.jwks_url.startswith("https://"):
        return fail("--jwks-url must be https:// when CPTS_ENV=production", EXIT_REFUSED)
    attributes: dict[str, Any] = {}
    if args.practitioner or args.structure or args.profession:
        attributes = {
            "practitioner_id": args.practitioner,
            "structures": args.structure or [],
            "profession": args.profession,
        }
    scopes = " ".join(args.scope) if args.scope else None
    try:
        engine = _engine(settings)
        registry = ClientRegistry(engine)
        jwks = _read_jwk(args.jwk) if args.jwk else None
        if args.generate_key:
            # validate first, so a refused registration leaves no key file behind
            registry.check(args.name, role=args.role, tenant=args.tenant, scopes=scopes, attributes=attributes)
            jwks = generate_managed_key(settings.keys_dir, args.name)
        client = registry.add(
            args.name,
            role=args.role,
            tenant=args.tenant,
            scopes=scopes,
            jwks=jwks,
            jwks_url=args.jwks_url,
            managed_key=bool(args.generate_key),
            attributes=attributes,
        )
    except ClientError as exc:
        return fail(f"clients add: {exc}", EXIT_REFUSED)
    except SQLAlchemyError as exc:
        return fail(f"clients add: database error ({type(exc).__name__})")
    print(
        f"client {client.name} registered: role {client.role}, tenant {client.tenant or '-'}, "
        f"scopes {client.scopes or '-'}"
    )
    if args.generate_key:
        print(
            f"  private key kept in {managed_key_path(settings.keys_dir, client.name)} (0600); "
            f"get a token with: cpts-gateway clients token {client.name}"
        )
    return EXIT_OK


def cmd_clients_list(args: argparse.Namespace, settings: Settings) -> int:
    try:
        clients = ClientRegistry(_engine(settings)).all()
    except SQLAlchemyError as exc:
        return fail(f"clients list: database error ({type(exc).__name__})")
    if args.json:
        print(orjson.dumps([c.public() for c in clients], option=orjson.OPT_INDENT_2).decode())
        return EXIT_OK
    if not clients:
        print("no client registered (cpts-gateway clients add NAME --role ROLE ...)")
        return EXIT_OK
    print(f"{'name':<24} {'role':<15} {'tenant':<10} {'key':<8} scopes")
    for c in clients:
        key = "managed" if c.managed_key else ("url" if c.jwks_url else "jwk")
        print(f"{c.name:<24} {c.role:<15} {c.tenant or '-':<10} {key:<8} {c.scopes or '-'}")
    return EXIT_OK


def cmd_clients_remove(args: argparse.Namespace, settings: Settings) -> int:
    try:
        removed = ClientRegistry(_engine(settings)).remove(args.name)
    except SQLAlchemyError as exc:
        return fail(f"clients remove: database error ({type(exc).__name__})")
    if not removed:
        return fail(f"clients remove: no client named '{args.name}'", EXIT_REFUSED)
    managed_key_path(settings.keys_dir, args.name).unlink(missing_ok=True)
    print(f"client {args.name} removed (its tokens stop working within 30 s)")
    return EXIT_OK


def cmd_clients_token(args: argparse.Namespace, settings: Settings) -> int:
    from security.oauth.managed import ManagedTokenRefused, managed_token

    scope = " ".join(args.scope) if args.scope else None
    try:
        outcome = managed_token(settings, _engine(settings), args.name, scope)
    except ManagedTokenRefused as exc:
        return fail(f"clients token: {exc}", EXIT_REFUSED)
    except SigningKeyError as exc:
        return fail(f"clients token: {exc}")
    except SQLAlchemyError as exc:
        return fail(f"clients token: database error ({type(exc).__name__})")
    if not outcome.issued:
        error = outcome.body.get("error", "refused")
        return fail(f"clients token: {error}: {outcome.body.get('error_description', '')}", EXIT_REFUSED)
    if args.json:
        print(orjson.dumps(outcome.body).decode())
    else:
        print(outcome.body["access_token"])
    return EXIT_OK


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    if settings.env == "production" and uses_development_keys(settings):
        return fail("keys rotate-signing: CPTS_ENV=production needs CPTS_SIGNING_KEY_FILE", EXIT_REFUSED)
    path = signing_key_path(settings)
    try:
        kids = rotate(path, prune=args.prune, lifetime_seconds=settings.token_lifetime_seconds)
    except SigningKeyError as exc:
        return fail(f"keys rotate-signing: {exc}")
    except OSError as exc:
        return fail(f"keys rotate-signing: {path}: {exc.strerror}")
    print(f"new signing key {kids[0]} in {path}; {len(kids)} key(s) published, newest first")
    print("running servers pick it up within a second (the file's mtime changed)")
    return EXIT_OK


def add_commands(commands: Any) -> None:
    clients = commands.add_parser("clients", help="register OAuth clients (SMART Backend Services)")
    actions = clients.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="register a client")
    add.add_argument("name", help="the client id (1-64 letters, digits, . _ -)")
    add.add_argument("--role", required=True, help="centre-system, centre-manager, practitioner, coordinator, ...")
    add.add_argument("--tenant", help="FINESS of the client's centre (centre-system and centre-manager only)")
    add.add_argument(
        "--scope", action="append", help="SMART scope it may be granted (repeatable; default: all its role can use)"
    )
    key = add.add_mutually_exclusive_group(required=True)
    key.add_argument("--jwk", type=Path, help="file holding its public JWK or JWK Set (RS384 or ES384 keys)")
    key.add_argument("--jwks-url", help="URL where the gateway fetches its JWK Set")
    key.add_argument(
        "--generate-key",
        action="store_true",
        help="the gateway generates and keeps its key pair (demo and tests; refused in production)",
    )
    add.add_argument("--practitioner", metavar="IDNAT_PS", help="practitioner clients: the idNat_PS it stands for")
    add.add_argument(
        "--structure",
        action="append",
        metavar="FINESS",
        help="practitioner clients: a site where they work (repeatable)",
    )
    add.add_argument("--profession", metavar="CODE", help="practitioner clients: profession code (TRE_G15)")
    add.set_defaults(handler=cmd_clients_add)

    listing = actions.add_parser("list", help="list the registered clients")
    listing.add_argument("--json", action="store_true", help="a JSON list of {name, role, tenant, scopes}")
    listing.set_defaults(handler=cmd_clients_list)

    remove = actions.add_parser("remove", help="remove a client (its tokens stop working)")
    remove.add_argument("name")
    remove.set_defaults(handler=cmd_clients_remove)

    token = actions.add_parser("token", help="print an access token for a client whose key the gateway keeps")
    token.add_argument("name")
    token.add_argument("--scope", action="append", help="scope to ask for (repeatable; default: all registered)")
    token.add_argument("--json", action="store_true", help="print the whole token response")
    token.set_defaults(handler=cmd_clients_token)

    keys = commands.add_parser("keys", help="the gateway's token signing keys")
    key_actions = keys.add_subparsers(dest="action", required=True)
    rotate_cmd = key_actions.add_parser("rotate-signing", help="add a new signing key; older keys keep verifying")
    rotate_cmd.add_argument(
        "--prune", action="store_true", help="also drop keys that stopped signing longer ago than a token lives"
    )
    rotate_cmd.set_defaults(handler=cmd_keys_rotate)


__all__ = ["add_commands"]
