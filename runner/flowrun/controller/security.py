"""Optional protection for a controller reachable from other hosts.

A shared token, sent by clients as `authorization: Bearer <token>` metadata, checked by
a server interceptor before any handler runs; and TLS server credentials from PEM files.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from flowrun.errors import ControllerError

AUTHORIZATION = "authorization"
BEARER = "bearer "

Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


def bearer_token(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    """The token of an `authorization: Bearer <token>` header, if there is one."""
    for key, value in metadata or ():
        if key.lower() != AUTHORIZATION:
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if text[: len(BEARER)].lower() == BEARER:
            return text[len(BEARER) :].strip()
    return None


class TokenInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc, unused-ignore]
    """Rejects every call without the shared token with UNAUTHENTICATED."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ControllerError("the controller token must not be empty")
        self._token = token.encode()

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        presented = bearer_token(handler_call_details.invocation_metadata)
        if presented is not None and hmac.compare_digest(presented.encode(), self._token):
            return await continuation(handler_call_details)
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        reason = "missing" if presented is None else "invalid"
        return _rejecting(
            handler, f"{reason} controller token: send 'authorization: Bearer <token>'"
        )


def _rejecting(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that fails the call with UNAUTHENTICATED."""

    async def reject(request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def reject_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - abort raises; the yield makes this a generator

    deserialize, serialize = handler.request_deserializer, handler.response_serializer
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(reject_stream, deserialize, serialize)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(reject, deserialize, serialize)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(reject_stream, deserialize, serialize)
    return grpc.unary_unary_rpc_method_handler(reject, deserialize, serialize)


def server_credentials(cert_file: str, key_file: str) -> grpc.ServerCredentials:
    """TLS credentials from PEM files, with an error naming the file that is wrong."""
    cert = _read_pem(cert_file, "certificate")
    key = _read_pem(key_file, "private key")
    try:
        return grpc.ssl_server_credentials([(key, cert)])
    except Exception as e:  # grpc raises plain exceptions for unusable key pairs
        raise ControllerError(
            f"cannot use TLS key {key_file} with certificate {cert_file}: {e}"
        ) from e


def _read_pem(path: str, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ControllerError(f"cannot read the TLS {what} {path}: {e.strerror or e}") from e
    if b"-----BEGIN" not in data:
        raise ControllerError(f"the TLS {what} {path} is not a PEM file")
    return data
