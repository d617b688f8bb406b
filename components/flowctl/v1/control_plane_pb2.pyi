import datetime

from flowctl.v1 import common_pb2 as _common_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterRequest(_message.Message):
    __slots__ = ("component", "component_id")
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_ID_FIELD_NUMBER: _ClassVar[int]
    component: _common_pb2.ComponentInfo
    component_id: str
    def __init__(self, component: _Optional[_Union[_common_pb2.ComponentInfo, _Mapping]] = ..., component_id: _Optional[str] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("service_id", "assigned_topics", "connection_info")
    class ConnectionInfoEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_TOPICS_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_INFO_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    assigned_topics: _containers.RepeatedScalarFieldContainer[str]
    connection_info: _containers.ScalarMap[str, str]
    def __init__(self, service_id: _Optional[str] = ..., assigned_topics: _Optional[_Iterable[str]] = ..., connection_info: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UnregisterRequest(_message.Message):
    __slots__ = ("service_id",)
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    def __init__(self, service_id: _Optional[str] = ...) -> None: ...

class DiscoveryRequest(_message.Message):
    __slots__ = ("type", "event_types", "metadata_filters")
    class MetadataFiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FILTERS_FIELD_NUMBER: _ClassVar[int]
    type: _common_pb2.ComponentType
    event_types: _containers.RepeatedScalarFieldContainer[str]
    metadata_filters: _containers.ScalarMap[str, str]
    def __init__(self, type: _Optional[_Union[_common_pb2.ComponentType, str]] = ..., event_types: _Optional[_Iterable[str]] = ..., metadata_filters: _Optional[_Mapping[str, str]] = ...) -> None: ...

class DiscoveryResponse(_message.Message):
    __slots__ = ("components",)
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    components: _containers.RepeatedCompositeFieldContainer[_common_pb2.ComponentInfo]
    def __init__(self, components: _Optional[_Iterable[_Union[_common_pb2.ComponentInfo, _Mapping]]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("service_id", "status", "metrics")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    status: _common_pb2.HealthStatus
    metrics: _containers.ScalarMap[str, str]
    def __init__(self, service_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.HealthStatus, str]] = ..., metrics: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ComponentStatusRequest(_message.Message):
    __slots__ = ("service_id",)
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    def __init__(self, service_id: _Optional[str] = ...) -> None: ...

class ComponentStatusResponse(_message.Message):
    __slots__ = ("component", "status", "last_heartbeat", "metrics", "registered_at")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    component: _common_pb2.ComponentInfo
    status: _common_pb2.HealthStatus
    last_heartbeat: _timestamp_pb2.Timestamp
    metrics: _containers.ScalarMap[str, str]
    registered_at: _timestamp_pb2.Timestamp
    def __init__(self, component: _Optional[_Union[_common_pb2.ComponentInfo, _Mapping]] = ..., status: _Optional[_Union[_common_pb2.HealthStatus, str]] = ..., last_heartbeat: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metrics: _Optional[_Mapping[str, str]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListComponentsRequest(_message.Message):
    __slots__ = ("type_filter", "include_unhealthy")
    TYPE_FILTER_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_UNHEALTHY_FIELD_NUMBER: _ClassVar[int]
    type_filter: _common_pb2.ComponentType
    include_unhealthy: bool
    def __init__(self, type_filter: _Optional[_Union[_common_pb2.ComponentType, str]] = ..., include_unhealthy: _Optional[bool] = ...) -> None: ...

class ListComponentsResponse(_message.Message):
    __slots__ = ("components",)
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    components: _containers.RepeatedCompositeFieldContainer[ComponentStatusResponse]
    def __init__(self, components: _Optional[_Iterable[_Union[ComponentStatusResponse, _Mapping]]] = ...) -> None: ...
