"""The 360° room scan: how much of the room a scan covered, how well, and who else was in it.

`analyze_scan_window(frames, config)` turns the frames of one scan into a `ScanReport`;
`scan_events` / `request_events` turn reports into events; `scan_schedule` says when to ask for scans;
`parse_scan_window` and `ScanWindowRouter` serve `proctor analyze --scan START_S:END_S`.
The `proctor scan` command lives in `proctor.roomscan.cli` (imported only by the CLI).
"""

from proctor.roomscan.analyzer import PersonInRoom, RoomScanAnalyzer, ScanReport, analyze_scan_window
from proctor.roomscan.config import RoomScanConfig
from proctor.roomscan.coverage import Coverage, Sector
from proctor.roomscan.events import request_events, scan_events
from proctor.roomscan.persons import PersonSighting
from proctor.roomscan.quality import ScanQuality
from proctor.roomscan.rotation import OrientationSample
from proctor.roomscan.schedule import ScanKind, ScanRequest, scan_schedule
from proctor.roomscan.windows import ScanWindow, ScanWindowRouter, analyze_scan_windows, parse_scan_window

__all__ = [
    "Coverage",
    "OrientationSample",
    "PersonInRoom",
    "PersonSighting",
    "RoomScanAnalyzer",
    "RoomScanConfig",
    "ScanKind",
    "ScanQuality",
    "ScanReport",
    "ScanRequest",
    "ScanWindow",
    "ScanWindowRouter",
    "Sector",
    "analyze_scan_window",
    "analyze_scan_windows",
    "parse_scan_window",
    "request_events",
    "scan_events",
    "scan_schedule",
]
