"""Wire vocabulary shared by the playbook model and the Orderly client.

The values are Orderly's own strings, so a member can go on the wire as it is. Both
`runner.playbook` and `runner.orderly` import from here; neither imports the other.
"""

from __future__ import annotations

from enum import StrEnum


class MarginMode(StrEnum):
    CROSS = "CROSS"
    ISOLATED = "ISOLATED"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "POST_ONLY"
    ASK = "ASK"
    BID = "BID"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIAL_FILLED = "PARTIAL_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIAL_FILLED)


class MarginAdjustment(StrEnum):
    ADD = "ADD"
    REDUCE = "REDUCE"
