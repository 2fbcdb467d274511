"""The audit log: one immutable row per successful change, written in the change's transaction."""
