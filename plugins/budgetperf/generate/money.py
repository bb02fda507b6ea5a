"""Exact money arithmetic: amounts are integer fen; totals are split with no rounding loss.

Random draws only shape the *weights* of a split; the amounts themselves come from
integer arithmetic, so a calibrated total (79,862.92 万元) is hit to the fen every time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

FEN_PER_YUAN = 100
# Budgets are set in 万元 with 2 decimals, as the county writes them: steps of 100 yuan.
BUDGET_STEP_FEN = 100 * FEN_PER_YUAN


def apportion(total: int, weights: Sequence[int], minimum: int = 0) -> list[int]:
    """Split ``total`` into integers proportional to ``weights``, each ``>= minimum``.

    The parts always sum to ``total`` exactly (largest-remainder method, ties broken by
    position so the result is deterministic).
    """
    n = len(weights)
    if n == 0:
        if total != 0:
            raise ValueError("cannot split a non-zero total into zero parts")
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0")
    rest = total - n * minimum
    if rest < 0:
        raise ValueError(f"total {total} is below {n} parts of at least {minimum}")
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [1] * n
        weight_sum = n
    parts = [minimum + rest * w // weight_sum for w in weights]
    shortfall = total - sum(parts)
    if shortfall:
        by_remainder = sorted(range(n), key=lambda i: (-(rest * weights[i] % weight_sum), i))
        for i in by_remainder[:shortfall]:
            parts[i] += 1
    return parts


def lognormal_weights(
    rng: random.Random, n: int, sigma: float, scale: int = 1_000_000
) -> list[int]:
    """``n`` positive integer weights with a log-normal spread (the shape of budgets)."""
    return [max(1, int(rng.lognormvariate(0.0, sigma) * scale)) for _ in range(n)]


def yuan_to_fen(yuan: Decimal | int | str) -> int:
    """Exact conversion; refuses amounts with more than 2 decimals."""
    value = Decimal(yuan) * FEN_PER_YUAN
    if value != value.to_integral_value():
        raise ValueError(f"{yuan} has more than 2 decimals")
    return int(value)


def fen_to_yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def format_fen(fen: int, *, thousands: bool = False) -> str:
    """``123456789`` -> ``1234567.89`` (or ``1,234,567.89``)."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    whole = f"{yuan:,}" if thousands else str(yuan)
    return f"{sign}{whole}.{cents:02d}"
