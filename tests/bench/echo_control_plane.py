"""The ceiling of the heartbeat benchmarks: both control-plane APIs served by grpc.aio with
handlers that do nothing, in their own process, as the controller runs.

    python tests/bench/echo_control_plane.py      # prints "listening on HOST:PORT"

Registrations are acknowledged and heartbeats answered Empty at once, so a heartbeat
costs exactly what grpc.aio costs: heartbeats/s of the controller divided by calls/s of
this server, in the same run with the same clients, is what the controller's own work
leaves of the transport's ceiling.
"""

from __future__ import annotations

import asyncio
import signal

import grpc
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl.v1 import control_plane_pb2 as v1
from flowctl.v1 import control_plane_pb2_grpc as v1_grpc
from google.protobuf.empty_pb2 import Empty

EMPTY = Empty()


class EchoControlPlane(cp_grpc.ControlPlaneServicer):  # type: ignore[misc]
    async def Register(self, request: cp.ServiceInfo, context: object) -> cp.RegistrationAck:
        return cp.RegistrationAck(service_id=request.service_id)

    async def Heartbeat(self, request: cp.ServiceHeartbeat, context: object) -> Empty:
        return EMPTY


class EchoControlPlaneV1(v1_grpc.ControlPlaneServiceServicer):  # type: ignore[misc]
    async def RegisterComponent(
        self, request: v1.RegisterRequest, context: object
    ) -> v1.RegisterResponse:
        return v1.RegisterResponse(service_id=request.component.id)

    async def Heartbeat(self, request: v1.HeartbeatRequest, context: object) -> Empty:
        return EMPTY


async def serve() -> None:
    server = grpc.aio.server()
    cp_grpc.add_ControlPlaneServicer_to_server(EchoControlPlane(), server)
    v1_grpc.add_ControlPlaneServiceServicer_to_server(EchoControlPlaneV1(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await stop.wait()
    await server.stop(0)


if __name__ == "__main__":
    asyncio.run(serve())
