"""fakewatch training."""
