"""fakewatch: a deepfake checker reached through chat.

The root package holds only what every part shares: settings and the command line.
"""

__version__ = "0.2.0"
