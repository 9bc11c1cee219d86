"""Small helpers shared by notebooks, scripts and the package."""

from llmlab.utils.device import autocast_context, describe_device, pick_device

__all__ = ["autocast_context", "describe_device", "pick_device"]
