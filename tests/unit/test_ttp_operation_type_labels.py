"""ttp_processor_unknown_operations_total takes its operation_type label from the data:
bounded, so that an upstream sending ever new kinds cannot grow Prometheus' series without
end. The rest count under `other`."""

from __future__ import annotations

from ttp_arrow_processor.labels import OTHER, BoundedLabels


def test_labels_from_the_data_are_bounded_and_the_rest_are_other() -> None:
    labels = BoundedLabels(3)
    given = [labels.of(kind) for kind in ["a", "b", "a", "c", "d", "e", "b"]]
    assert given == ["a", "b", "a", "c", OTHER, OTHER, "b"]
