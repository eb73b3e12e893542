"""The Prevention Prize platform: youth-led groups apply, juries score, the public sees winners."""

__version__ = "0.1.0"
