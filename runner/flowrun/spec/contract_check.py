"""A spec section checked by the flowctl contract, its problems reported at the section's keys.

The contract's `check` knows nothing of YAML; pydantic does. Each problem becomes a
pydantic error at the key it is about, so the loader places it at `FILE:LINE:COL` like any
other error, and a value nobody wrote is called the default.
"""

from __future__ import annotations

from flowctl.contract import FlowControlSettings, Policy, PoolSettings, Problem, check
from flowctl.errors import SettingsError
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


def check_by_contract(
    section: BaseModel, settings: FlowControlSettings | PoolSettings | Policy
) -> None:
    """Raise every problem `check` finds in `settings` as an error at the section's key."""
    try:
        check(settings)
    except SettingsError as error:
        raise _errors_at_keys(section, error.problems) from error


def _errors_at_keys(section: BaseModel, problems: tuple[Problem, ...]) -> ValidationError:
    details: list[InitErrorDetails] = []
    for problem in problems:
        key = problem.path.removesuffix("_seconds")  # the contract names its units, the spec not
        # A value nobody wrote surprises: say where it came from.
        note = "" if key in section.model_fields_set else " (the default)"
        message = {"message": problem.message(note)}
        error = PydanticCustomError("contract", "{message}", message)
        details.append(InitErrorDetails(type=error, loc=(key,), input=getattr(section, key)))
    return ValidationError.from_exception_data(type(section).__name__, details)
