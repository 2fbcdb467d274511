"""Typed events between this process and its subscribers, over broadcaster."""

from .errors import HubUnavailable, SubscriberOverflow
from .events import Event
from .hub import Hub

__all__ = ["Event", "Hub", "HubUnavailable", "SubscriberOverflow"]
