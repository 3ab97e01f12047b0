"""The verdict every diagnostic returns: ``ok``, ``caution`` or ``unreliable``, with reasons.

A :class:`Finding` is one check's result: what was measured, the documented threshold that
turned it into a verdict, why it matters in plain words, and what would fix it. A
:class:`Diagnostics` is an ordered collection of findings whose overall verdict is the worst
of them. Reports and notebooks show claims according to the verdict: exact numbers under
``ok``, ranges and the reason under ``caution``, and under ``unreliable`` what the data
cannot tell and what would fix it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

import pandas as pd

from .._checks import choice

__all__ = ["VERDICTS", "Diagnostics", "Finding", "model_name", "worst"]

#: The verdicts, from best to worst.
VERDICTS: tuple[str, ...] = ("ok", "caution", "unreliable")


#: How the literature writes the models' names (class name -> display name).
_MODEL_NAMES = {"BGNBD": "BG/NBD", "MBGNBD": "MBG/NBD", "ParetoNBD": "Pareto/NBD",
                "BGBB": "BG/BB", "GammaGamma": "Gamma-Gamma", "SBG": "sBG", "BdW": "BdW"}


def model_name(model: object) -> str:
    """A model's name as the literature writes it (its class name for other objects).

    Examples
    --------
    >>> from retention_kit.models import ParetoNBD
    >>> model_name(ParetoNBD())
    'Pareto/NBD'
    """
    name = type(model).__name__
    return _MODEL_NAMES.get(name, name)


def worst(verdicts: Iterable[str]) -> str:
    """The worst of some verdicts (``ok`` when there are none).

    Examples
    --------
    >>> worst(["ok", "caution", "ok"])
    'caution'
    >>> worst([])
    'ok'
    """
    rank = -1
    for verdict in verdicts:
        choice("verdict", verdict, VERDICTS)
        rank = max(rank, VERDICTS.index(verdict))
    return VERDICTS[max(rank, 0)]


@dataclass(frozen=True)
class Finding:
    """One diagnostic's result.

    Attributes
    ----------
    check : str
        What was checked, in a few words ("dropout identified", "holdout fit").
    verdict : str
        ``ok``, ``caution`` or ``unreliable``.
    reason : str
        What was measured and why it matters, in plain words for a client.
    fix : str
        What would make the claim trustworthy (empty when the verdict is ``ok``).
    value : float or None
        The measured number the threshold was applied to, if there is one.
    rule : str
        The documented threshold ("|error| <= 10% ok, <= 25% caution, else unreliable").
    """

    check: str
    verdict: str
    reason: str
    fix: str = ""
    value: float | None = None
    rule: str = ""

    def __post_init__(self) -> None:
        choice("verdict", self.verdict, VERDICTS)

    def sentence(self) -> str:
        """The reason and, unless the verdict is ``ok``, what would fix it."""
        if self.verdict == "ok" or not self.fix:
            return self.reason
        return f"{self.reason} What would fix it: {self.fix}"


@dataclass(frozen=True)
class Diagnostics:
    """Findings in order; the overall verdict is the worst of them.

    Examples
    --------
    >>> d = Diagnostics((Finding("window", "ok", "12 months of data."),
    ...                  Finding("holdout fit", "caution", "Off by 14%.", fix="A longer "
    ...                          "calibration period.")))
    >>> d.verdict
    'caution'
    >>> [f.check for f in d.concerns()]
    ['holdout fit']
    """

    findings: tuple[Finding, ...] = ()

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __add__(self, other: Diagnostics) -> Diagnostics:
        return Diagnostics(self.findings + tuple(other))

    @property
    def verdict(self) -> str:
        """The worst verdict of the findings."""
        return worst(f.verdict for f in self.findings)

    def concerns(self) -> list[Finding]:
        """The findings that are not ``ok``, worst first."""
        bad = [f for f in self.findings if f.verdict != "ok"]
        return sorted(bad, key=lambda f: -VERDICTS.index(f.verdict))

    def to_frame(self) -> pd.DataFrame:
        """One row per finding: check, verdict, value, rule, reason, fix."""
        cols = ["check", "verdict", "value", "rule", "reason", "fix"]
        return pd.DataFrame([asdict(f) for f in self.findings], columns=cols)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: the overall verdict and the findings."""
        return {"verdict": self.verdict, "findings": [asdict(f) for f in self.findings]}

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(f.check)}</td><td><b>{f.verdict}</b></td>"
            f"<td>{html.escape(f.sentence())}</td></tr>" for f in self.findings)
        return (f"<p>Overall verdict: <b>{self.verdict}</b></p><table><thead><tr>"
                "<th>check</th><th>verdict</th><th>why</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")
