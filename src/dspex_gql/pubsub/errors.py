class HubUnavailable(Exception):
    """The pub/sub backend cannot be reached; the database still holds the truth.

    Raised by `Hub.publish`, by `Hub.subscribe`, and by a subscriber's iterator when the hub
    loses its backend: the subscriber should subscribe again and re-read its snapshot.
    """


class SubscriberOverflow(Exception):
    """A subscriber fell so far behind that its buffer held too many distinct keys."""
