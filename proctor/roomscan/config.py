"""Room-scan policy: how much of the room a 360° scan must cover, how fast, and how it is scheduled."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RoomScanConfig(BaseModel):
    """Thresholds of the room-scan analyzer and the scan schedule; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_coverage_deg: float = Field(
        330.0,
        ge=0.0,
        le=360.0,
        title="Minimum coverage",
        description="Yaw the camera's optical axis must sweep for the scan to count as complete.",
    )
    time_limit_s: float = Field(
        60.0,
        ge=5.0,
        le=600.0,
        title="Time limit",
        description="Seconds the candidate has for a scan after the prompt; later frames are not part of the scan.",
    )
    retries: int = Field(
        1,
        ge=0,
        le=3,
        title="Retries",
        description="How many times an incomplete scan may be repeated before it is reported.",
    )
    pre_exam: bool = Field(
        True,
        title="Pre-exam scan",
        description="Ask for a scan of the room before the exam starts (off for exams that do not need one).",
    )
    in_exam_scans: int = Field(
        0,
        ge=0,
        le=10,
        title="In-exam scans",
        description="Further scans requested at random moments during the exam.",
    )
    in_exam_margin_s: float = Field(
        120.0,
        ge=0.0,
        le=3600.0,
        title="Quiet margin",
        description="No random scan is requested this close to the start or the end of the exam.",
    )
    hfov_guess_deg: float = Field(
        65.0,
        ge=30.0,
        le=120.0,
        title="Field of view guess",
        description="Horizontal field of view assumed for the webcam (typical 55–78°) when the focal is not estimated.",
    )
    estimate_focal: bool = Field(
        True,
        title="Self-calibrate focal length",
        description="Refine the field of view from the tracked features of the scan itself (pure-rotation fit).",
    )
    loop_closure: bool = Field(
        True,
        title="Loop closure",
        description="When the camera comes back to its first view, rescale the integrated yaw to the measured one.",
    )
    hfov_bounds_deg: tuple[float, float] = Field(
        (40.0, 100.0),
        title="Field of view bounds",
        description="Range the self-calibrated horizontal field of view is searched in.",
    )
    analysis_rate_hz: float = Field(
        15.0,
        ge=2.0,
        le=60.0,
        title="Scan analysis rate",
        description="Frames per second analysed during a scan; rotation is tracked between these frames.",
    )
    track_width_px: int = Field(
        320,
        ge=120,
        le=1280,
        title="Tracking width",
        description="Frames are downscaled to this width before feature tracking (speed vs. precision).",
    )
    max_speed_deg_s: float = Field(
        120.0,
        ge=10.0,
        le=720.0,
        title="Too fast",
        description="Turning faster than this (degrees per second) blurs the room; such frames are flagged.",
    )
    blur_threshold: float = Field(
        12.0,
        ge=0.0,
        le=10_000.0,
        title="Blurred frame",
        description="Variance of the Laplacian of the downscaled grey frame below which it counts as blurred.",
    )
    dark_brightness: float = Field(
        40.0,
        ge=0.0,
        le=255.0,
        title="Too dark",
        description="Mean grey level (0–255) below which a frame is too dark to show the room.",
    )
    covered_contrast: float = Field(
        6.0,
        ge=0.0,
        le=128.0,
        title="Camera covered",
        description="Grey-level standard deviation below which the frame is featureless (lens covered).",
    )
    max_bad_fraction: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        title="Bad-frame share",
        description="A quality flag is raised when more than this share of the scan's frames has the problem.",
    )
    person_check_hz: float = Field(
        5.0,
        ge=0.2,
        le=30.0,
        title="Face check rate",
        description="How often the face detector looks for people while the camera turns.",
    )
    pose_check_hz: float = Field(
        1.0,
        ge=0.0,
        le=30.0,
        title="Body check rate",
        description="How often Pose looks for a body (about 48 ms a frame, so sparingly; 0 turns it off).",
    )
    person_min_detections: int = Field(
        2,
        ge=1,
        le=20,
        title="Person persistence",
        description="Detections needed within one episode before it becomes a person_in_room event.",
    )
    person_max_gap_s: float = Field(
        1.5,
        ge=0.1,
        le=30.0,
        title="Person episode gap",
        description="Detections further apart than this belong to different person_in_room events.",
    )
    candidate_sector_deg: float = Field(
        25.0,
        ge=0.0,
        le=90.0,
        title="Candidate's own sector",
        description=(
            "A single person seen within this yaw of the starting direction (where the webcam faced the candidate "
            "before turning) is the candidate; two faces there, or anyone elsewhere, is another person. 0 counts "
            "every face."
        ),
    )

    @model_validator(mode="after")
    def _bounds_hold_the_guess(self) -> RoomScanConfig:
        low, high = self.hfov_bounds_deg
        if not 20.0 <= low < high <= 150.0:
            raise ValueError(f"hfov_bounds_deg must be increasing within 20–150°, got {self.hfov_bounds_deg}")
        if not low <= self.hfov_guess_deg <= high:
            raise ValueError(f"hfov_guess_deg {self.hfov_guess_deg} lies outside hfov_bounds_deg")
        return self
