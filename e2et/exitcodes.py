"""Distinct exit codes, so CI and wrappers can tell a product failure from bad input."""
OK = 0
FAILED = 1            # at least one scenario failed
CONFIG = 2            # bad profile/config/input, or the platform/broker unreachable before start
INTERRUPTED = 130     # SIGINT
TERMINATED = 143      # SIGTERM


def of_child(returncode: int) -> int:
    """A child's exit status as ours: killed by SIGINT/SIGTERM → 130/143, by another signal → 1."""
    import signal

    if returncode >= 0:
        return returncode
    return {int(signal.SIGINT): INTERRUPTED, int(signal.SIGTERM): TERMINATED}.get(-returncode, FAILED)
