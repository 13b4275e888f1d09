"""Dataset adapters: each turns an official layout into :class:`Sample` rows with a leak-proof group."""

from training.datasets._base import DatasetError, Sample, assign_splits, group_split
from training.datasets._folder import folder_samples
from training.datasets._shared import mesonet_group, shared_face_samples, shared_video_samples

__all__ = [
    "DatasetError",
    "Sample",
    "assign_splits",
    "folder_samples",
    "group_split",
    "mesonet_group",
    "shared_face_samples",
    "shared_video_samples",
]

from training.datasets._celebdf import celebdf_samples
from training.datasets._collect import collect_samples
from training.datasets._dfdc import dfdc_samples
from training.datasets._ffpp import FFPP_METHODS, ffpp_samples

__all__ += ["FFPP_METHODS", "celebdf_samples", "collect_samples", "dfdc_samples", "ffpp_samples"]
