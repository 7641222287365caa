"""A Desk.com API v2 simulator for demos and integration tests.

Behaviour follows the recorded traffic and docs summarised in the Desk API reference; where
Desk's behaviour is not documented the choice is marked in the code.
"""

from __future__ import annotations

from .faults import Fault
from .simulator import DeskSimulator

__all__ = ["DeskSimulator", "Fault"]
