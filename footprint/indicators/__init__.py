"""Digital footprint indicators: pure, versioned functions of a catalogue and the facts at a checkpoint.

`INDICATOR_VERSION` names the rules these functions implement (attendance windows, the missing-leave
rule, the time-on-material cap …); every report carries it, and a change of any rule changes it.
Version 2: one rule for whose a statement is, presence carried into a class's window, local time per
timestamp, assignments due inside the period, proctoring results only from the platform's own authority,
and the TVET shares measured against the working curriculum.
"""

INDICATOR_VERSION = "2"
