"""Media intake: identify, validate and decode untrusted uploads into RGB frames.

``load_media`` is the only entry point; it decides what a file is by decoding it (never by name
or MIME type), enforces the caps in ``IntakeLimits`` before the expensive work, samples video
frames evenly over the clip, and reports every failure as an ``IntakeError`` with a stable code.
No torch, dlib or OpenCV capture here: Pillow, PyAV and numpy only.
"""

from serving.intake._errors import IntakeError
from serving.intake._limits import IntakeLimits
from serving.intake._load import load_media
from serving.intake._media import Frame, Media

__all__ = ["Frame", "IntakeError", "IntakeLimits", "Media", "load_media"]
