"""Numbers as the report prints them: a few significant digits, never 999.5 as `1e+03`."""

from __future__ import annotations


def sig(x: float, digits: int = 3, signed: bool = False) -> str:
    """`x` to `digits` significant digits; whole numbers where rounding would need an exponent.

    Python's `g` format switches to an exponent once the rounded value has more integer digits
    than `digits` (mode counts of 1,000, their standard errors of 150); small values keep theirs.
    """
    sign = "+" if signed else ""
    text = f"{x:{sign}.{digits}g}"
    if "e+" in text:
        text = f"{x:{sign}.0f}"
    return text
