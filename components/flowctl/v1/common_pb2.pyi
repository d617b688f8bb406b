from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ComponentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPONENT_TYPE_UNSPECIFIED: _ClassVar[ComponentType]
    COMPONENT_TYPE_SOURCE: _ClassVar[ComponentType]
    COMPONENT_TYPE_PROCESSOR: _ClassVar[ComponentType]
    COMPONENT_TYPE_CONSUMER: _ClassVar[ComponentType]

class HealthStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_STATUS_UNKNOWN: _ClassVar[HealthStatus]
    HEALTH_STATUS_STARTING: _ClassVar[HealthStatus]
    HEALTH_STATUS_HEALTHY: _ClassVar[HealthStatus]
    HEALTH_STATUS_DEGRADED: _ClassVar[HealthStatus]
    HEALTH_STATUS_UNHEALTHY: _ClassVar[HealthStatus]
    HEALTH_STATUS_STOPPING: _ClassVar[HealthStatus]
COMPONENT_TYPE_UNSPECIFIED: ComponentType
COMPONENT_TYPE_SOURCE: ComponentType
COMPONENT_TYPE_PROCESSOR: ComponentType
COMPONENT_TYPE_CONSUMER: ComponentType
HEALTH_STATUS_UNKNOWN: HealthStatus
HEALTH_STATUS_STARTING: HealthStatus
HEALTH_STATUS_HEALTHY: HealthStatus
HEALTH_STATUS_DEGRADED: HealthStatus
HEALTH_STATUS_UNHEALTHY: HealthStatus
HEALTH_STATUS_STOPPING: HealthStatus

class ComponentInfo(_message.Message):
    __slots__ = ("id", "name", "description", "version", "type", "input_event_types", "output_event_types", "endpoint", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    version: str
    type: ComponentType
    input_event_types: _containers.RepeatedScalarFieldContainer[str]
    output_event_types: _containers.RepeatedScalarFieldContainer[str]
    endpoint: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., version: _Optional[str] = ..., type: _Optional[_Union[ComponentType, str]] = ..., input_event_types: _Optional[_Iterable[str]] = ..., output_event_types: _Optional[_Iterable[str]] = ..., endpoint: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...
