"""A registered model version's approval status: what both sides of the registry read
(``register_model`` of the jobs, and the model package group), and the scheduled runs
that register. No import of the library's: a leaf of the serving package."""

from __future__ import annotations

from enum import Enum


class ModelApproval(Enum):
    """A registered version's approval status (``ModelApprovalStatus``)."""

    APPROVED = "Approved"
    REJECTED = "Rejected"
    PENDING_MANUAL_APPROVAL = "PendingManualApproval"
