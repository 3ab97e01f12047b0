"""Small helpers for the course and report notebooks: parameter checks and versions."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata

from ._checks import closest

__all__ = ["check_choice", "show_versions"]

_PACKAGES = ("retention_kit", "pandas", "numpy", "scipy", "lifelines", "statsmodels",
             "matplotlib", "seaborn")


def check_choice(name: str, value: object, choices: Iterable[object]) -> None:
    """Fail early, readably, when a notebook parameter is not one of its choices.

    Examples
    --------
    >>> check_choice("period", "M", ["W", "M", "Q"])
    >>> check_choice("period", "month", ["W", "M", "Q"])
    Traceback (most recent call last):
    ...
    ValueError: parameter period='month' is not one of ['W', 'M', 'Q']; did you mean 'M'?
    >>> check_choice("data", "retailr", ["cdnow", "retailer"])
    Traceback (most recent call last):
    ...
    ValueError: parameter data='retailr' is not one of ['cdnow', 'retailer']; did you mean ...
    """
    options = list(choices)
    if value in options:
        return
    close = closest(str(value), options)
    hint = f"; did you mean {close!r}?" if close is not None else ""
    raise ValueError(f"parameter {name}={value!r} is not one of {options}{hint}")


def show_versions() -> None:
    """Print the versions of Python and of the packages the notebooks rely on."""
    print(f"python {platform.python_version()}")
    for name in _PACKAGES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        print(f"{name} {version}")
