"""Where the program's windows are on a virtual display, so that its screenshot shows them and not the
whole (mostly black) screen: from the X server's own window list (``xwininfo``, of the x11-utils
package), else, where that tool is missing, from the part of the screen that is not the black root.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

Box = tuple[int, int, int, int]  # left, top, right, bottom
_ASK_SECONDS = 5
# A child in ``xwininfo -root -children``: its id, and its size (1x1: a toolkit's hidden helper window).
_CHILD = re.compile(r"^\s+(0x[0-9a-f]+) .*?\s(\d+)x(\d+)[+-]", re.M)
_FIELD = re.compile(r"^\s*(Absolute upper-left [XY]|Width|Height|Map State):\s*(\S+)", re.M)


def _xwininfo(display: str, *args: str) -> str:
    executable = shutil.which("xwininfo")
    if executable is None:
        return ""
    try:
        done = subprocess.run(
            [executable, "-display", display, *args],
            capture_output=True, text=True, timeout=_ASK_SECONDS, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def shown_windows(display: str) -> list[Box]:
    """The boxes of the top-level windows shown (mapped and viewable) on ``display``; empty when they
    cannot be listed."""
    boxes = []
    for window, width, height in _CHILD.findall(_xwininfo(display, "-root", "-children")):
        if int(width) <= 1 or int(height) <= 1:
            continue  # not asked about: the screenshot is taken while the program is being timed
        fields = dict(_FIELD.findall(_xwininfo(display, "-id", window)))
        if fields.get("Map State") != "IsViewable":
            continue
        try:
            left, top = int(fields["Absolute upper-left X"]), int(fields["Absolute upper-left Y"])
            box = (left, top, left + int(fields["Width"]), top + int(fields["Height"]))
        except (KeyError, ValueError):
            continue
        if box[2] - box[0] > 1 and box[3] - box[1] > 1:
            boxes.append(box)
    return boxes


def cropped(image: Image, windows: list[Box]) -> Image:
    """``image`` cut to what holds the windows (their union, within the screen); to what is not black
    when no window is known; the whole image when nothing is drawn."""
    width, height = image.size
    box: Box | None
    if windows:
        left, top = max(min(b[0] for b in windows), 0), max(min(b[1] for b in windows), 0)
        right, bottom = min(max(b[2] for b in windows), width), min(max(b[3] for b in windows), height)
        box = (left, top, right, bottom)
    else:
        box = image.convert("RGB").getbbox()
    if box is None or box[0] >= box[2] or box[1] >= box[3]:
        return image
    return image.crop(box)
