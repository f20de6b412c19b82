"""The egress guard: the browser, webhooks, totp_url calls and upload fetches reach
only public addresses (and whatever SKYQ_EGRESS_ALLOW opens), every request checked
after DNS, and the checked address is the one dialled."""

from skyq.config import Settings
from skyq.egress.policy import EgressBlocked, EgressPolicy


def egress_policy(settings: Settings) -> EgressPolicy | None:
    """The policy runs are held to, or None when SKYQ_EGRESS_GUARD is off."""
    return EgressPolicy(settings.egress_allow) if settings.egress_guard else None


__all__ = ["EgressBlocked", "EgressPolicy", "egress_policy"]
