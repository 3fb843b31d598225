"""Digital footprint indicators: pure, versioned functions of a catalogue and the facts at a checkpoint.

`INDICATOR_VERSION` names the rules these functions implement (attendance windows, the missing-leave
rule, the time-on-material cap …); every report carries it, and a change of any rule changes it.
"""

INDICATOR_VERSION = "1"
