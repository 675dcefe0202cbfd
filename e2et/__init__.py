"""e2et: behaviour-driven end-to-end acceptance suite for distributed systems."""
__version__ = "0.1.0"
