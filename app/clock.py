"""The one place that says what day it is: Albania's date, not the server's or UTC's.

Due dates, deadlines and "not in the future" checks are calendar dates typed by Albanian
clerks, so every one of them is compared with today in Europe/Tirane.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Europe/Tirane")


def today() -> date:
    """Return today's date in Albania."""
    return datetime.now(LOCAL_ZONE).date()
