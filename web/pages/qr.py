"""The side camera's link and its QR code, as the candidate's page shows them (drawn here as SVG by segno, pure
Python, so nothing leaves the platform and the page runs no script to draw it)."""

from __future__ import annotations

import segno


def side_url(base_url: str, token: str) -> str:
    """The phone's page for a side camera token."""
    return f"{base_url.rstrip('/')}/side/{token}"


def qr_image(url: str) -> str:
    """The link as a QR code: an SVG `data:` address for an `<img>` (dark on light, with its quiet zone)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=5, border=4, dark="#111", light="#fff"))
