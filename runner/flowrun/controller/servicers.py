"""gRPC servicers: flowctl.ControlPlane (public, wire compatible) and flowctl.FlowControl
(flowctl.v1.ControlPlaneService is in servicers_v1).

Thin: each RPC translates to one ControllerState operation and maps its outcome to a
status code. Everything runs on the server's asyncio loop and never blocks it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import NoReturn, TypeAlias

import grpc
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.errors import SettingsError
from flowctl.policy_codec import policy_from_proto
from google.protobuf.empty_pb2 import Empty

from flowrun.controller import messages
from flowrun.controller.registration import RegistrationError
from flowrun.controller.registry import RegistryFullError
from flowrun.controller.state import ControllerState

logger = logging.getLogger(__name__)

EMPTY = Empty()
"""The one answer of every heartbeat: serialised as it is sent, never changed."""

Context: TypeAlias = grpc.aio.ServicerContext


async def abort(context: Context, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("context.abort returned")  # it raises; this tells the type checker


def not_registered(service_id: str) -> str:
    return (
        f"service {service_id!r} is not registered with this controller "
        "(it may have restarted): call Register again"
    )


class ControlPlaneServicer(cp_grpc.ControlPlaneServicer):  # type: ignore[misc, unused-ignore]
    def __init__(self, state: ControllerState) -> None:
        self._state = state

    async def Register(self, request: cp.ServiceInfo, context: Context) -> cp.RegistrationAck:
        try:
            record = self._state.register(request)
        except RegistrationError as e:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(e))
        except RegistryFullError as e:
            await abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(e))
        registration = record.registration
        logger.info(
            "registered %s (component %s, endpoint %s)",
            registration.service_id,
            registration.component_id,
            registration.endpoint or "-",
        )
        return cp.RegistrationAck(
            service_id=registration.service_id,
            topic_names=registration.topic_names(),
            connection_info=self._state.connection_info(),
        )

    async def Heartbeat(self, request: cp.ServiceHeartbeat, context: Context) -> Empty:
        if self._state.heartbeat(request) is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, not_registered(request.service_id))
        return EMPTY

    async def GetServiceStatus(self, request: cp.ServiceInfo, context: Context) -> cp.ServiceStatus:
        record = self._state.status_target(request)
        if record is None:
            name = request.service_id or request.component_id
            await abort(context, grpc.StatusCode.NOT_FOUND, not_registered(name))
        return messages.service_status(record, self._state.is_healthy(record))

    async def ListServices(self, request: Empty, context: Context) -> cp.ServiceList:
        return cp.ServiceList(
            services=[
                messages.service_status(record, healthy)
                for record, healthy in self._state.samples()
            ]
        )


class FlowControlServicer(fc_grpc.FlowControlServicer):  # type: ignore[misc, unused-ignore]
    def __init__(self, state: ControllerState) -> None:
        self._state = state

    async def Discover(self, request: fc.DiscoverRequest, context: Context) -> fc.DiscoverResponse:
        return self._state.discover(request)

    async def WatchDirectives(
        self, request: fc.DirectiveRequest, context: Context
    ) -> AsyncIterator[fc.Directive]:
        state, service_id = self._state, request.service_id
        if state.registry.get(service_id) is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, not_registered(service_id))
        mailbox = state.hub.subscribe(service_id)
        try:
            mailbox.put(state.directive_for(service_id))
            while (directive := await mailbox.get()) is not None:
                yield directive
        finally:
            # Runs when the client goes away too (the handler is cancelled): no leak.
            state.hub.unsubscribe(mailbox)

    async def GetPipelineMetrics(self, request: Empty, context: Context) -> fc.PipelineMetrics:
        return self._state.pipeline_metrics()

    async def GetPolicy(self, request: Empty, context: Context) -> fc.Policy:
        return self._state.policy_message()

    async def UpdatePolicy(self, request: fc.Policy, context: Context) -> fc.PolicyAck:
        try:
            policy = policy_from_proto(request)
        except SettingsError as e:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(e))
        revision, notified = self._state.update_policy(policy)
        logger.info("policy revision %d applied (%d services told)", revision, notified)
        return fc.PolicyAck(revision=revision, services_notified=notified)
