import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ServiceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVICE_TYPE_UNSPECIFIED: _ClassVar[ServiceType]
    SERVICE_TYPE_SOURCE: _ClassVar[ServiceType]
    SERVICE_TYPE_PROCESSOR: _ClassVar[ServiceType]
    SERVICE_TYPE_SINK: _ClassVar[ServiceType]
    SERVICE_TYPE_PIPELINE: _ClassVar[ServiceType]
SERVICE_TYPE_UNSPECIFIED: ServiceType
SERVICE_TYPE_SOURCE: ServiceType
SERVICE_TYPE_PROCESSOR: ServiceType
SERVICE_TYPE_SINK: ServiceType
SERVICE_TYPE_PIPELINE: ServiceType

class ServiceInfo(_message.Message):
    __slots__ = ("service_id", "service_type", "input_event_types", "output_event_types", "health_endpoint", "max_inflight", "metadata", "component_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    HEALTH_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    MAX_INFLIGHT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_ID_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    service_type: ServiceType
    input_event_types: _containers.RepeatedScalarFieldContainer[str]
    output_event_types: _containers.RepeatedScalarFieldContainer[str]
    health_endpoint: str
    max_inflight: int
    metadata: _containers.ScalarMap[str, str]
    component_id: str
    def __init__(self, service_id: _Optional[str] = ..., service_type: _Optional[_Union[ServiceType, str]] = ..., input_event_types: _Optional[_Iterable[str]] = ..., output_event_types: _Optional[_Iterable[str]] = ..., health_endpoint: _Optional[str] = ..., max_inflight: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ..., component_id: _Optional[str] = ...) -> None: ...

class RegistrationAck(_message.Message):
    __slots__ = ("service_id", "topic_names", "connection_info")
    class ConnectionInfoEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_NAMES_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_INFO_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    topic_names: _containers.RepeatedScalarFieldContainer[str]
    connection_info: _containers.ScalarMap[str, str]
    def __init__(self, service_id: _Optional[str] = ..., topic_names: _Optional[_Iterable[str]] = ..., connection_info: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ServiceHeartbeat(_message.Message):
    __slots__ = ("service_id", "timestamp", "metrics")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    timestamp: _timestamp_pb2.Timestamp
    metrics: _containers.ScalarMap[str, float]
    def __init__(self, service_id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metrics: _Optional[_Mapping[str, float]] = ...) -> None: ...

class ServiceStatus(_message.Message):
    __slots__ = ("service_id", "service_type", "is_healthy", "last_heartbeat", "metrics", "component_id")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    IS_HEALTHY_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_ID_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    service_type: ServiceType
    is_healthy: bool
    last_heartbeat: _timestamp_pb2.Timestamp
    metrics: _containers.ScalarMap[str, float]
    component_id: str
    def __init__(self, service_id: _Optional[str] = ..., service_type: _Optional[_Union[ServiceType, str]] = ..., is_healthy: _Optional[bool] = ..., last_heartbeat: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., component_id: _Optional[str] = ...) -> None: ...

class ServiceList(_message.Message):
    __slots__ = ("services",)
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[ServiceStatus]
    def __init__(self, services: _Optional[_Iterable[_Union[ServiceStatus, _Mapping]]] = ...) -> None: ...
