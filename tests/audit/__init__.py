"""The audit log: one immutable row per successful change, never a secret, admins only.

Every request here carries its own X-Request-ID and User-Agent, so the rows a request wrote are
told apart by their `requestId`; the log's totalCount before and after says there were no others.
"""
