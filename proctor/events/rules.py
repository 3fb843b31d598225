"""Temporal rules: persistence and hysteresis turn noisy per-frame signals into stable events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from proctor.events.event import Event, Measurement, Severity
from proctor.events.vocabulary import EventType
from proctor.frames import Image


@dataclass(frozen=True, eq=False)
class Signal:
    """One sample of a rule's condition at `timestamp_s`, covering `duration_s` of time.

    `strength` (≥ 0) ranks samples so that the event keeps its strongest one as the peak; `flags`
    are booleans whose share over the event is reported (e.g. body_present while the face is gone).
    """

    timestamp_s: float
    duration_s: float
    active: bool
    strength: float = 0.0
    measurements: Mapping[str, Measurement] = field(default_factory=dict)
    flags: Mapping[str, bool] = field(default_factory=dict)
    image: Image | None = None


@dataclass
class _Episode:
    start_s: float
    last_active_end_s: float
    first_inactive_s: float | None = None
    samples: int = 0
    peak: Signal | None = None
    flag_counts: dict[str, int] = field(default_factory=dict)
    confidences: list[float] = field(default_factory=list)


class EpisodeRule:
    """Opens an event once the condition held `on_s`, closes it once it was gone `off_s`.

    Short dropouts (shorter than `off_s`) do not split an event; short blips (shorter than `on_s`)
    never make one. Unknown samples (a stage that did not run) are simply not fed in. An event lasts
    until the first sample that contradicts it: for a sparse signal (identity checked every few
    seconds) that is when the change was seen, not when the last confirming sample was taken.
    """

    def __init__(
        self, event_type: EventType, on_s: float, off_s: float, severity: SeverityFn, max_gap_s: float = 1.5
    ) -> None:
        self.event_type = event_type
        self.on_s = on_s
        self.off_s = off_s
        self.max_gap_s = max(max_gap_s, off_s)
        self._severity = severity
        self._episode: _Episode | None = None
        self._open = False
        self.opened_now = False
        """Whether the last `feed` opened an event (a live source reports it at once: see `snapshot`)."""

    @property
    def is_open(self) -> bool:
        return self._open

    def feed(self, signal: Signal) -> Event | None:
        """Add one sample; returns an event when this sample closes one (and sets `opened_now` if it opens one)."""
        episode = self._episode
        closed = None
        self.opened_now = False
        if signal.active:
            end = signal.timestamp_s + signal.duration_s
            if episode is not None and signal.timestamp_s - episode.last_active_end_s > self.max_gap_s:
                # No samples for a while (the stage could not run): never bridge across that gap.
                closed = self._close() if self._open else None
                episode = self._episode = None
            if episode is None:
                episode = self._episode = _Episode(start_s=signal.timestamp_s, last_active_end_s=end)
            episode.last_active_end_s = end
            episode.first_inactive_s = None
            episode.samples += 1
            for name, value in signal.flags.items():
                episode.flag_counts[name] = episode.flag_counts.get(name, 0) + int(value)
            if episode.peak is None or signal.strength > episode.peak.strength:
                episode.peak = signal
            if not self._open and end - episode.start_s >= self.on_s:
                self._open = self.opened_now = True
            return closed
        if episode is None:
            return None
        if not self._open:
            self._episode = None  # a blip shorter than on_s
            return None
        if episode.first_inactive_s is None:
            episode.first_inactive_s = signal.timestamp_s
        if signal.timestamp_s - episode.last_active_end_s >= self.off_s:
            return self._close()
        return None

    def forget_pending(self) -> None:
        """Drop samples that have not opened an event yet (they were about something else, e.g. another face)."""
        if not self._open:
            self._episode = None

    def finish(self) -> Event | None:
        """Close any open event at the end of the recording."""
        if self._open:
            return self._close()
        self._episode = None
        return None

    def snapshot(self) -> Event:
        """The open event as it stands (its end is the last sample so far): what a live source stores at once."""
        episode = self._episode
        if not self._open or episode is None or episode.peak is None:
            raise RuntimeError(f"{self.event_type}: no open event to describe")
        return self._event(episode, episode.last_active_end_s)

    def _close(self) -> Event:
        episode = self._episode
        self._episode = None
        self._open = False
        if episode is None or episode.peak is None:
            raise RuntimeError(f"{self.event_type}: closing a rule that has no open episode")
        end_s = episode.last_active_end_s
        seen_ending = episode.first_inactive_s
        if seen_ending is not None and 0.0 < seen_ending - end_s <= self.max_gap_s:
            end_s = seen_ending  # nothing says the condition ended before the sample that saw it had
        return self._event(episode, end_s)

    def _event(self, episode: _Episode, end_s: float) -> Event:
        peak = episode.peak
        if peak is None:
            raise RuntimeError(f"{self.event_type}: an episode without samples")
        measurements: dict[str, Measurement] = dict(peak.measurements)
        for name, count in episode.flag_counts.items():
            measurements[f"{name}_share"] = round(count / episode.samples, 3)
            measurements[name] = count * 2 >= episode.samples
        severity, confidence = self._severity(measurements, end_s - episode.start_s)
        return Event(
            type=self.event_type,
            start_s=episode.start_s,
            end_s=end_s,
            severity=severity,
            confidence=confidence,
            peak_s=peak.timestamp_s,
            measurements=measurements,
            evidence_image=peak.image,
        )


class SeverityFn:
    """Severity and confidence of a closed event from its measurements and duration."""

    def __init__(self, base: Severity, confidence: float = 0.8, body_present_lowers: bool = False) -> None:
        self.base = base
        self.confidence = confidence
        self.body_present_lowers = body_present_lowers

    def __call__(self, measurements: Mapping[str, Measurement], duration_s: float) -> tuple[Severity, float]:
        if self.body_present_lowers and measurements.get("body_present") is True:
            return Severity.LOW, min(self.confidence, 0.5)
        confidence = min(0.99, self.confidence + min(duration_s, 30.0) / 300.0)
        return self.base, confidence
