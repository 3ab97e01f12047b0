"""Exceptions and warnings raised by retention_kit.

Every data problem is reported with one template, built by :func:`data_error`:
what is wrong, how many rows, the first offending example, and how to fix it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConvergenceError",
    "DataError",
    "NotFittedError",
    "NumericalWarning",
    "data_error",
]


class DataError(ValueError):
    """Input data that cannot be used as given.

    The message always says what is wrong, how many rows are affected, the first
    offending example and how to fix it.

    Attributes
    ----------
    problem, n_rows, example, fix
        The four parts of the message, kept for programs that want to inspect them.
    """

    def __init__(
        self,
        problem: str,
        *,
        n_rows: int | None = None,
        example: Any = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.n_rows = n_rows
        self.example = example
        self.fix = fix
        parts = [problem.rstrip(".") + "."]
        if n_rows is not None:
            parts.append(f"Rows affected: {n_rows:,}.")
        if example is not None:
            parts.append(f"First example: {example}.")
        if fix:
            parts.append(f"How to fix: {fix.rstrip('.')}.")
        super().__init__(" ".join(parts))


def data_error(problem: str, *, n_rows: int | None = None, example: Any = None,
               fix: str | None = None) -> DataError:
    """Build a :class:`DataError` with the project's one message template.

    Examples
    --------
    >>> err = data_error("amount is negative", n_rows=3, example="row 7: -12.5",
    ...                  fix="drop refunds or net them against their purchase")
    >>> str(err).split(". ")[1:3]
    ['Rows affected: 3', 'First example: row 7: -12.5']
    >>> err.fix
    'drop refunds or net them against their purchase'
    """
    return DataError(problem, n_rows=n_rows, example=example, fix=fix)


class NotFittedError(RuntimeError):
    """A model was asked for predictions before :meth:`fit` was called."""


class ConvergenceError(RuntimeError):
    """A maximum-likelihood fit did not converge; the message names remedies."""


class NumericalWarning(RuntimeWarning):
    """A computation lost precision (for example a hypergeometric series was truncated)."""
