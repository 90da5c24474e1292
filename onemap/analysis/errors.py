"""Errors an analysis raises when its *input* is wrong, so every caller can say why.

The OGC API Processes layer maps :class:`InvalidInput` to HTTP 400 (``OutOfRange`` and
``NoData`` to 422-style "the request is understood but cannot be answered", reported as 400
with their own code so clients can tell them apart), the CLI to a message and exit code 2.
An analysis never returns an empty result for bad input: a point outside the region, an
unknown pollutant or a date without data is an error naming the parameter.
"""

from __future__ import annotations


class InvalidInput(ValueError):
    """A parameter has a value the analysis cannot use (unknown pollutant, bad radius…)."""

    code = "InvalidParameterValue"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class OutOfRegion(InvalidInput):
    """A location outside the region the data covers."""

    code = "OutOfRegion"


class NoData(InvalidInput):
    """The data needed for the requested time or area does not exist (e.g. a date with no
    valid hour at any station)."""

    code = "NoData"
