"""gRPC servicer of flowctl.v1.ControlPlaneService, over the same state as the legacy one.

A service registered here is seen by the legacy API, discovery, backpressure, the runner's
status and the metrics, and the other way round: both servicers share one ControllerState.
"""

from __future__ import annotations

import logging

import grpc
from flowctl.v1 import control_plane_pb2 as v1
from flowctl.v1 import control_plane_pb2_grpc as v1_grpc
from google.protobuf.empty_pb2 import Empty

from flowrun.controller import messages_v1
from flowrun.controller.registration import Registration, RegistrationError
from flowrun.controller.registry import RegistryFullError
from flowrun.controller.servicers import EMPTY, Context, abort, not_registered
from flowrun.controller.state import ControllerState

logger = logging.getLogger(__name__)


class ControlPlaneServiceServicer(v1_grpc.ControlPlaneServiceServicer):  # type: ignore[misc, unused-ignore]
    def __init__(self, state: ControllerState) -> None:
        self._state = state

    async def RegisterComponent(
        self, request: v1.RegisterRequest, context: Context
    ) -> v1.RegisterResponse:
        try:
            registration = Registration.from_v1(request)
            self._state.admit(registration)
        except RegistrationError as e:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(e))
        except RegistryFullError as e:
            await abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(e))
        logger.info(
            "registered %s through flowctl.v1 (endpoint %s)",
            registration.service_id,
            registration.endpoint or "-",
        )
        return messages_v1.register_response(registration, self._state.connection_info())

    async def UnregisterComponent(self, request: v1.UnregisterRequest, context: Context) -> Empty:
        if self._state.unregister(request.service_id) is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, _unknown(request.service_id))
        logger.info("unregistered %s", request.service_id)
        return Empty()

    async def DiscoverComponents(
        self, request: v1.DiscoveryRequest, context: Context
    ) -> v1.DiscoveryResponse:
        return v1.DiscoveryResponse(
            components=[
                messages_v1.component_info(record.registration)
                for record in self._state.registry
                if messages_v1.discovered(record.registration, request)
            ]
        )

    async def Heartbeat(self, request: v1.HeartbeatRequest, context: Context) -> Empty:
        if self._state.heartbeat_v1(request) is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, not_registered(request.service_id))
        return EMPTY

    async def GetComponentStatus(
        self, request: v1.ComponentStatusRequest, context: Context
    ) -> v1.ComponentStatusResponse:
        record = self._state.registry.find(request.service_id) if request.service_id else None
        if record is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, _unknown(request.service_id))
        return messages_v1.component_status(record, self._state.is_healthy(record))

    async def ListComponents(
        self, request: v1.ListComponentsRequest, context: Context
    ) -> v1.ListComponentsResponse:
        return v1.ListComponentsResponse(
            components=[
                messages_v1.component_status(record, healthy)
                for record, healthy in self._state.samples()
                if messages_v1.listed(record, healthy, request)
            ]
        )


def _unknown(service_id: str) -> str:
    return f"service {service_id!r} is not registered with this controller"
