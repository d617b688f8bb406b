"""A component run by another Python than flowrun's, missing a module flowrun's has.

`command: [/usr/bin/python3, component.py]` (or the python of a project's own virtualenv)
runs without the packages of flowrun's environment: an SDK component dies at its first
line, `ModuleNotFoundError: No module named 'flowctl'`, and is restarted again and again
with the same traceback. `python` (python3, python3.X) in `command` is flowrun's own
interpreter (flowrun.spec.commands): the fix, said beside the traceback.
"""

from __future__ import annotations

import importlib.util
import re

from flowrun.spec.commands import PYTHON_ALIASES

_NOT_FOUND = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def missing_module_hint(log_tail: str, program: str) -> str:
    """The hint for a component whose last lines say a module is missing that flowrun's
    interpreter has, when its program is another interpreter; '' otherwise."""
    found = _NOT_FOUND.findall(log_tail)
    if not found or program in PYTHON_ALIASES:
        return ""
    module = found[-1].split(".")[0]
    try:
        ours = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return ""
    if not ours:
        return ""
    return (
        f"; {program} cannot import {module}, which flowrun's own interpreter has: write "
        f"`python` as the program in `command` to run it there, or install {module} for "
        f"{program}"
    )
