"""fakewatch db."""
