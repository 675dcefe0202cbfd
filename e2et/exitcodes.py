"""Distinct exit codes, so CI and wrappers can tell a product failure from bad input."""
OK = 0
FAILED = 1            # at least one scenario failed
CONFIG = 2            # bad profile/config/input, or the platform/broker unreachable before start
INTERRUPTED = 130     # SIGINT
TERMINATED = 143      # SIGTERM
