"""Named random streams: one ``random.Random`` per (seed, thing, purpose).

Seeding from a string goes through SHA-512 in CPython, so it does not depend on hash
randomisation; each project's payments or indicators can be regenerated alone, in any
order, and come out the same.
"""

from __future__ import annotations

import random


def rng_for(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(("budgetperf", str(seed), *(str(p) for p in parts))))
