"""The Prevention Prize platform: youth-led projects apply, juries score, the public sees winners."""

__version__ = "0.1.0"
