"""Events: the fixed vocabulary, the event value type and the temporal rules that produce them."""

from proctor.events.event import Event, Severity
from proctor.events.vocabulary import INFORMATIONAL, SCORED, TECHNICAL, EventType

__all__ = ["INFORMATIONAL", "SCORED", "TECHNICAL", "Event", "EventType", "Severity"]
