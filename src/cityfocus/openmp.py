"""The OpenMP wait policy cityfocus runs torch with: passive unless the user chose one.

OpenMP threads that spin while waiting made torch many times slower on a shared machine
(measured here: a 2-epoch LSTM fit took 188 s spinning, 14 s passive, with other jobs
running). OpenMP reads the variable once, when torch loads it, so this must run before
anything imports torch: the ``cityfocus`` command calls it first thing; Python users set the
variable themselves (docs/api.md). Importing cityfocus changes nothing.
"""

from __future__ import annotations

import os

WAIT_POLICY_ENV = "OMP_WAIT_POLICY"


def prefer_passive_wait() -> None:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless it is set already (a user's own setting wins);
    no effect once torch has loaded OpenMP."""
    os.environ.setdefault(WAIT_POLICY_ENV, "PASSIVE")
