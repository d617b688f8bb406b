"""The environment covers every generation of flowctl client, and `protocol:` decides how
a component is judged: a plain program never waits for a registration, an older obsrvr
component is not declared dead between its fixed 10 s heartbeats."""

from __future__ import annotations

from pathlib import Path

from fixtures.supervision_fakes import component, pipeline_body
from flowctl.generations import earlier_generations_environ, env_prefix
from flowctl.settings import ComponentSettings
from flowrun.spec.model import LEGACY_HEARTBEAT_SECONDS, ComponentProtocol
from flowrun.spec.process import component_environ, component_settings


def _environ(name: str, command: list[str], base: dict[str, str] | None = None) -> dict[str, str]:
    body = pipeline_body(
        {
            name: component(
                "processor", command=command, endpoint="127.0.0.1:8816", health_port=9466
            )
        },
        endpoint="127.0.0.1:8080",
    )
    settings = component_settings(
        name, body, controller_endpoint="127.0.0.1:8080", spec_dir=Path("."), runner_pid=1
    )
    return component_environ(settings, body.components[name], base or {})


def test_names_become_prefixes_as_the_old_components_read_them() -> None:
    assert env_prefix("ttp-arrow-processor") == "TTP_ARROW_PROCESSOR"
    assert env_prefix("stellar.arrow source") == "STELLAR_ARROW_SOURCE"


def test_the_go_sdk_variables_are_written_with_the_listen_address_it_registers() -> None:
    environ = _environ("events", ["./bin/ttp-arrow-processor"])
    assert environ["ENABLE_FLOWCTL"] == "true"
    assert environ["FLOWCTL_ENDPOINT"] == "127.0.0.1:8080"
    assert environ["COMPONENT_ID"] == "events"
    assert environ["PORT"] == ":8816"
    assert environ["HEALTH_PORT"] == "9466"


def test_prefixed_variables_under_the_spec_name_and_the_program_name() -> None:
    environ = _environ("events", ["./bin/ttp-arrow-processor", "--flag"])
    for prefix in ("EVENTS", "TTP_ARROW_PROCESSOR"):
        assert environ[f"{prefix}_ENABLE_FLOWCTL"] == "true"
        assert environ[f"{prefix}_FLOWCTL_ENDPOINT"] == "127.0.0.1:8080"
        assert (
            environ[f"{prefix}_FLOWCTL_HEARTBEAT_INTERVAL"] == environ["FLOWCTL_HEARTBEAT_INTERVAL"]
        )
    python_component = _environ("events", ["python", "-m", "ttp_arrow_processor"])
    assert "PYTHON_ENABLE_FLOWCTL" not in python_component


def test_an_inherited_port_or_id_does_not_leak_into_a_component() -> None:
    settings = ComponentSettings(component_id="sink", service_id="sink", endpoint="127.0.0.1:0")
    assert "PORT" not in earlier_generations_environ(settings)  # port 0: none known yet
    environ = _environ("events", ["./x"], base={"PORT": "3000", "COMPONENT_ID": "other"})
    assert (environ["PORT"], environ["COMPONENT_ID"]) == (":8816", "events")


def test_the_spec_env_still_has_the_last_word() -> None:
    body = pipeline_body({"events": component("processor", env={"PORT": "9999"})})
    settings = component_settings(
        "events", body, controller_endpoint=None, spec_dir=Path("."), runner_pid=1
    )
    assert component_environ(settings, body.components["events"], {})["PORT"] == "9999"


def test_an_older_obsrvr_component_may_stay_silent_for_three_of_its_heartbeats() -> None:
    body = pipeline_body(
        {
            "legacy": component(protocol="flowctl-legacy"),
            "ours": component(),
        }
    )
    legacy, ours = body.components["legacy"], body.components["ours"]
    assert legacy.protocol is ComponentProtocol.FLOWCTL_LEGACY
    assert legacy.liveness_ttl(5.0) == 3 * LEGACY_HEARTBEAT_SECONDS
    assert legacy.liveness_ttl(60.0) == 60.0
    assert ours.protocol is ComponentProtocol.AUTO and ours.liveness_ttl(5.0) == 5.0
