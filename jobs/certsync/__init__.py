"""certsync: put agents' RGS certificates onto their Mégalis Bretagne accounts, in bulk."""

__version__ = "0.1.0"
