"""Loopback stand-ins of real APIs for the demo (THINKALIKE_STAND_INS): the real payload shapes
and headers, answered from this process so every card can be clicked through offline. One
module per provider; each is a few views and its URL patterns."""
