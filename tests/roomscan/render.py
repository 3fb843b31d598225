"""Scan videos with ground truth: a 360° panorama made of real photographs, seen by a turning pinhole camera.

The panorama is equirectangular (longitude across, latitude down) and built from scikit-image's photos
placed side by side, optionally with a real face photograph (the astronaut) pasted at a known yaw. A
scan is rendered by pointing a distortion-free camera along a known yaw/pitch trajectory and sampling
the panorama with `cv2.remap`; fast turns average sub-frames to give real motion blur. Videos are
written as H.264 with PyAV, so the analyzer sees compression like a browser recording.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
from skimage import data

Image = npt.NDArray[np.uint8]
Trajectory = Callable[[float], float]
"""Yaw in degrees at time t (seconds); positive turns right."""

PANO_WIDTH = 2880  # 8 px per degree of longitude
PANO_HEIGHT = 720  # 90° of latitude, ±45° around the horizon
PHOTOS = ("coffee", "rocket", "chelsea", "stereo_motorcycle", "gravel")


@dataclass(frozen=True)
class Panorama:
    """An equirectangular image spanning 360° of longitude and `lat_span_deg` of latitude."""

    image: Image
    lat_span_deg: float
    face_yaw_deg: float | None = None


def _photo(name: str) -> Image:
    rgb = np.asarray(data.stereo_motorcycle()[0] if name == "stereo_motorcycle" else getattr(data, name)())
    if rgb.ndim == 2:
        rgb = np.stack([rgb] * 3, axis=-1)
    return np.ascontiguousarray(cv2.cvtColor(rgb[..., :3].astype(np.uint8), cv2.COLOR_RGB2BGR))


def build_panorama(face_yaw_deg: float | None = None, face_height_deg: float = 24.0) -> Panorama:
    """The room: real photos around 360°; with `face_yaw_deg`, the astronaut's portrait hangs there."""
    strips = []
    for name in PHOTOS:
        photo = _photo(name)
        scale = PANO_HEIGHT / photo.shape[0]
        strips.append(cv2.resize(photo, (round(photo.shape[1] * scale), PANO_HEIGHT), interpolation=cv2.INTER_AREA))
    pano = cv2.resize(np.concatenate(strips, axis=1), (PANO_WIDTH, PANO_HEIGHT), interpolation=cv2.INTER_AREA)
    px_per_deg = PANO_WIDTH / 360.0
    if face_yaw_deg is not None:
        portrait = _photo("astronaut")[20:300, 110:390]  # head and shoulders
        side = round(face_height_deg * px_per_deg)
        portrait = cv2.resize(portrait, (side, side), interpolation=cv2.INTER_AREA)
        x0 = round((face_yaw_deg % 360.0 + 180.0) % 360.0 * px_per_deg) - side // 2
        y0 = PANO_HEIGHT // 2 - side // 2
        columns = np.arange(x0, x0 + side) % PANO_WIDTH
        pano[y0 : y0 + side, columns] = portrait
    return Panorama(image=pano, lat_span_deg=PANO_HEIGHT / px_per_deg, face_yaw_deg=face_yaw_deg)


class Camera:
    """A pinhole camera of a given size and horizontal field of view that renders views of a panorama."""

    def __init__(self, panorama: Panorama, width: int, height: int, hfov_deg: float) -> None:
        self.panorama = panorama
        focal = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
        u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
        rays = np.stack([(u - width / 2 + 0.5) / focal, (v - height / 2 + 0.5) / focal, np.ones_like(u)], axis=-1)
        self._rays = (rays / np.linalg.norm(rays, axis=-1, keepdims=True)).reshape(-1, 3)
        self._shape = (height, width)
        pano = panorama.image
        self._padded = np.concatenate([pano, pano[:, :2]], axis=1)  # wrap for interpolation at 180°

    def view(self, yaw_deg: float, pitch_deg: float = 0.0) -> Image:
        yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
        ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
        rx = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
        world = self._rays @ (ry @ rx).T
        lon = np.arctan2(world[:, 0], world[:, 2])
        lat = np.arctan2(-world[:, 1], np.hypot(world[:, 0], world[:, 2]))
        width = self.panorama.image.shape[1]
        height = self.panorama.image.shape[0]
        map_x = np.mod((lon / (2 * math.pi) + 0.5) * width, width)
        map_y = (0.5 - np.degrees(lat) / self.panorama.lat_span_deg) * height
        map_x = map_x.reshape(self._shape).astype(np.float32)
        map_y = map_y.reshape(self._shape).astype(np.float32)
        out = cv2.remap(self._padded, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        return np.ascontiguousarray(out, dtype=np.uint8)


def eased(points: list[tuple[float, float]]) -> Trajectory:
    """A yaw trajectory through (time, yaw) knots, easing in and out of each (a hand turning a laptop)."""

    def yaw(t: float) -> float:
        if t <= points[0][0]:
            return points[0][1]
        for (t0, y0), (t1, y1) in zip(points, points[1:], strict=False):
            if t <= t1:
                s = (t - t0) / (t1 - t0)
                return y0 + (y1 - y0) * (1 - math.cos(math.pi * s)) / 2
        return points[-1][1]

    return yaw


@dataclass(frozen=True)
class ScanVideo:
    """A rendered scan video and its ground truth."""

    path: Path
    duration_s: float
    fps: float
    true_coverage_deg: float
    true_yaws: tuple[float, ...]
    face_yaw_deg: float | None


def render_scan(
    path: Path,
    trajectory: Trajectory,
    duration_s: float,
    *,
    fps: float = 15.0,
    size: tuple[int, int] = (640, 480),
    hfov_deg: float = 62.0,
    pitch_wobble_deg: float = 3.0,
    blur_subframes: int = 1,
    face_yaw_deg: float | None = None,
    panorama: Panorama | None = None,
) -> ScanVideo:
    """Render and encode a scan; the truth is the range of yaw the optical axis swept (at most 360°)."""
    panorama = panorama or build_panorama(face_yaw_deg)
    camera = Camera(panorama, size[0], size[1], hfov_deg)
    count = int(round(duration_s * fps))
    yaws = []
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(round(fps * 1000), 1000))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for index in range(count):
            t = index / fps
            yaws.append(trajectory(t))
            views = []
            for sub in range(blur_subframes):
                ts = t + sub / (fps * blur_subframes)
                views.append(camera.view(trajectory(ts), pitch_wobble_deg * math.sin(2 * math.pi * ts / 3.0)))
            image = views[0] if len(views) == 1 else np.mean(views, axis=0).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    span = max(yaws) - min(yaws)
    return ScanVideo(
        path=path,
        duration_s=count / fps,
        fps=fps,
        true_coverage_deg=min(360.0, span),
        true_yaws=tuple(yaws),
        face_yaw_deg=face_yaw_deg,
    )


ROOM_PHOTOS = ("coffee", "rocket", "chelsea", "stereo_motorcycle", "gravel", "brick")
"""Textures of the walls at +z, +x, −z, −x, then the floor and the ceiling."""


class BoxRoom:
    """A real 3-D room (a textured box) seen by a camera that sits `radius_m` in front of its turning axis.

    Unlike the panorama, this has parallax: turning a laptop moves its webcam on a circle, so near walls
    shift more than far ones, as in a real scan.
    """

    def __init__(
        self, width: int, height: int, hfov_deg: float, size_m: tuple[float, float, float] = (3.5, 2.4, 4.0)
    ) -> None:
        textures = [cv2.resize(_photo(name), (512, 512), interpolation=cv2.INTER_AREA) for name in ROOM_PHOTOS]
        self._atlas = np.concatenate(textures, axis=1)
        self._half = np.array(size_m) / 2
        focal = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
        u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
        self._rays = np.stack([(u - width / 2 + 0.5) / focal, (v - height / 2 + 0.5) / focal, np.ones_like(u)], -1)
        self._rays = self._rays.reshape(-1, 3)
        self._shape = (height, width)

    def view(self, yaw_deg: float, radius_m: float, axis_m: tuple[float, float] = (0.3, -0.2)) -> Image:
        yaw = math.radians(yaw_deg)
        ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
        origin = np.array([axis_m[0], 0.0, axis_m[1]]) + ry @ np.array([0.0, 0.0, radius_m])
        rays = self._rays @ ry.T
        with np.errstate(divide="ignore", invalid="ignore"):
            t_axes = (np.sign(rays) * self._half - origin) / rays
        t_axes[~np.isfinite(t_axes) | (t_axes <= 0)] = np.inf
        axis = np.argmin(t_axes, axis=1)
        t = t_axes[np.arange(len(rays)), axis]
        hit = origin + rays * t[:, None]
        positive = rays[np.arange(len(rays)), axis] > 0
        # face 0..5: +z, +x, -z, -x walls, then floor (+y, down) and ceiling (-y)
        face = np.select(
            [(axis == 2) & positive, (axis == 0) & positive, axis == 2, axis == 0, positive],
            [0, 1, 2, 3, 4],
            default=5,
        )
        across = np.select([axis == 2, axis == 0], [hit[:, 0] / self._half[0], hit[:, 2] / self._half[2]], hit[:, 0])
        along = np.where(axis == 1, hit[:, 2] / self._half[2], hit[:, 1] / self._half[1])
        map_x = face * 512 + np.clip((across + 1) / 2, 0, 1) * 511
        map_y = np.clip((along + 1) / 2, 0, 1) * 511
        out = cv2.remap(
            self._atlas,
            map_x.reshape(self._shape).astype(np.float32),
            map_y.reshape(self._shape).astype(np.float32),
            cv2.INTER_LINEAR,
        )
        return np.ascontiguousarray(out, dtype=np.uint8)
