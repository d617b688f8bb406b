"""The gRPC channel to the controller: TLS when a CA file is given, a bearer token,
and reconnect backoff short enough to notice a restarted controller within a heartbeat."""

from __future__ import annotations

from pathlib import Path

import grpc

from flowctl.errors import FlowctlError


def open_channel(
    endpoint: str,
    *,
    ca_file: str | None = None,
    reconnect_backoff_seconds: float = 1.0,
) -> grpc.Channel:
    # gRPC's own reconnect backoff grows to 120s by default; a component must find a
    # restarted controller within two heartbeat intervals, so keep it near one.
    backoff_ms = max(50, int(reconnect_backoff_seconds * 1000))
    options = [
        ("grpc.initial_reconnect_backoff_ms", backoff_ms),
        ("grpc.min_reconnect_backoff_ms", backoff_ms),
        ("grpc.max_reconnect_backoff_ms", backoff_ms),
        ("grpc.enable_retries", 0),
    ]
    if ca_file is None:
        return grpc.insecure_channel(endpoint, options=options)
    try:
        root_certificates = Path(ca_file).read_bytes()
    except OSError as e:
        raise FlowctlError(f"FLOWCTL_CA_FILE={ca_file}: cannot read the CA file: {e}") from e
    credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
    return grpc.secure_channel(endpoint, credentials, options=options)


def rpc_reason(error: BaseException) -> str:
    """An error of a call in one line: a gRPC one as `CODE: details` (`UNAUTHENTICATED:
    invalid controller token`), not an RpcError's multi-line text; another, its first line."""
    code, details = getattr(error, "code", None), getattr(error, "details", None)
    if callable(code) and callable(details):
        return f"{code().name}: {details()}"
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


def call_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """Per-call metadata: `authorization: Bearer <token>` when a token is set."""
    return (("authorization", f"Bearer {token}"),) if token else ()
