"""fakewatch serving."""
