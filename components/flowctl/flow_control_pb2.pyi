import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from flowctl import control_plane_pb2 as _control_plane_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DiscoverRequest(_message.Message):
    __slots__ = ("service_type", "name", "healthy_only")
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_ONLY_FIELD_NUMBER: _ClassVar[int]
    service_type: _control_plane_pb2.ServiceType
    name: str
    healthy_only: bool
    def __init__(self, service_type: _Optional[_Union[_control_plane_pb2.ServiceType, str]] = ..., name: _Optional[str] = ..., healthy_only: _Optional[bool] = ...) -> None: ...

class ServiceEndpoint(_message.Message):
    __slots__ = ("service_id", "component_id", "service_type", "endpoint", "is_healthy", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    IS_HEALTHY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    component_id: str
    service_type: _control_plane_pb2.ServiceType
    endpoint: str
    is_healthy: bool
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, service_id: _Optional[str] = ..., component_id: _Optional[str] = ..., service_type: _Optional[_Union[_control_plane_pb2.ServiceType, str]] = ..., endpoint: _Optional[str] = ..., is_healthy: _Optional[bool] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class DiscoverResponse(_message.Message):
    __slots__ = ("endpoints",)
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    endpoints: _containers.RepeatedCompositeFieldContainer[ServiceEndpoint]
    def __init__(self, endpoints: _Optional[_Iterable[_Union[ServiceEndpoint, _Mapping]]] = ...) -> None: ...

class PoolPolicy(_message.Message):
    __slots__ = ("min_connections", "max_connections", "idle_timeout_seconds", "health_check_interval_seconds", "connect_timeout_seconds", "max_retries")
    MIN_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CONNECT_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    min_connections: int
    max_connections: int
    idle_timeout_seconds: float
    health_check_interval_seconds: float
    connect_timeout_seconds: float
    max_retries: int
    def __init__(self, min_connections: _Optional[int] = ..., max_connections: _Optional[int] = ..., idle_timeout_seconds: _Optional[float] = ..., health_check_interval_seconds: _Optional[float] = ..., connect_timeout_seconds: _Optional[float] = ..., max_retries: _Optional[int] = ...) -> None: ...

class Policy(_message.Message):
    __slots__ = ("activate_at", "deactivate_at", "throttle_rate", "heartbeat_interval_seconds", "heartbeat_ttl_seconds", "monitoring_interval_seconds", "pool", "revision")
    ACTIVATE_AT_FIELD_NUMBER: _ClassVar[int]
    DEACTIVATE_AT_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_RATE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MONITORING_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    activate_at: float
    deactivate_at: float
    throttle_rate: float
    heartbeat_interval_seconds: float
    heartbeat_ttl_seconds: float
    monitoring_interval_seconds: float
    pool: PoolPolicy
    revision: int
    def __init__(self, activate_at: _Optional[float] = ..., deactivate_at: _Optional[float] = ..., throttle_rate: _Optional[float] = ..., heartbeat_interval_seconds: _Optional[float] = ..., heartbeat_ttl_seconds: _Optional[float] = ..., monitoring_interval_seconds: _Optional[float] = ..., pool: _Optional[_Union[PoolPolicy, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class PolicyAck(_message.Message):
    __slots__ = ("revision", "services_notified")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SERVICES_NOTIFIED_FIELD_NUMBER: _ClassVar[int]
    revision: int
    services_notified: int
    def __init__(self, revision: _Optional[int] = ..., services_notified: _Optional[int] = ...) -> None: ...

class DirectiveRequest(_message.Message):
    __slots__ = ("service_id",)
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    def __init__(self, service_id: _Optional[str] = ...) -> None: ...

class Directive(_message.Message):
    __slots__ = ("service_id", "throttle_rate", "backpressure_active", "reason", "policy", "issued_at")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_RATE_FIELD_NUMBER: _ClassVar[int]
    BACKPRESSURE_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    throttle_rate: float
    backpressure_active: bool
    reason: str
    policy: Policy
    issued_at: _timestamp_pb2.Timestamp
    def __init__(self, service_id: _Optional[str] = ..., throttle_rate: _Optional[float] = ..., backpressure_active: _Optional[bool] = ..., reason: _Optional[str] = ..., policy: _Optional[_Union[Policy, _Mapping]] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ServiceMetrics(_message.Message):
    __slots__ = ("service_id", "component_id", "service_type", "is_healthy", "load", "inflight", "throughput", "latency_seconds", "overloaded", "throttle_rate", "last_heartbeat", "heartbeats", "endpoint", "id_assigned", "reported_status")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    IS_HEALTHY_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    INFLIGHT_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_FIELD_NUMBER: _ClassVar[int]
    LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OVERLOADED_FIELD_NUMBER: _ClassVar[int]
    THROTTLE_RATE_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEATS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    ID_ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    REPORTED_STATUS_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    component_id: str
    service_type: _control_plane_pb2.ServiceType
    is_healthy: bool
    load: float
    inflight: float
    throughput: float
    latency_seconds: float
    overloaded: bool
    throttle_rate: float
    last_heartbeat: _timestamp_pb2.Timestamp
    heartbeats: int
    endpoint: str
    id_assigned: bool
    reported_status: str
    def __init__(self, service_id: _Optional[str] = ..., component_id: _Optional[str] = ..., service_type: _Optional[_Union[_control_plane_pb2.ServiceType, str]] = ..., is_healthy: _Optional[bool] = ..., load: _Optional[float] = ..., inflight: _Optional[float] = ..., throughput: _Optional[float] = ..., latency_seconds: _Optional[float] = ..., overloaded: _Optional[bool] = ..., throttle_rate: _Optional[float] = ..., last_heartbeat: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., heartbeats: _Optional[int] = ..., endpoint: _Optional[str] = ..., id_assigned: _Optional[bool] = ..., reported_status: _Optional[str] = ...) -> None: ...

class PipelineMetrics(_message.Message):
    __slots__ = ("services", "total_services", "healthy_services", "total_throughput", "max_load", "mean_load", "max_latency_seconds", "mean_latency_seconds", "backpressure_active", "policy_revision")
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SERVICES_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_SERVICES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_THROUGHPUT_FIELD_NUMBER: _ClassVar[int]
    MAX_LOAD_FIELD_NUMBER: _ClassVar[int]
    MEAN_LOAD_FIELD_NUMBER: _ClassVar[int]
    MAX_LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MEAN_LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    BACKPRESSURE_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    POLICY_REVISION_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[ServiceMetrics]
    total_services: int
    healthy_services: int
    total_throughput: float
    max_load: float
    mean_load: float
    max_latency_seconds: float
    mean_latency_seconds: float
    backpressure_active: bool
    policy_revision: int
    def __init__(self, services: _Optional[_Iterable[_Union[ServiceMetrics, _Mapping]]] = ..., total_services: _Optional[int] = ..., healthy_services: _Optional[int] = ..., total_throughput: _Optional[float] = ..., max_load: _Optional[float] = ..., mean_load: _Optional[float] = ..., max_latency_seconds: _Optional[float] = ..., mean_latency_seconds: _Optional[float] = ..., backpressure_active: _Optional[bool] = ..., policy_revision: _Optional[int] = ...) -> None: ...
