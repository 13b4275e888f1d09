"""fakewatch bot."""
