"""Starting the embedded PostgreSQL and Temporal dev server for `yilian up` and tests, and `yilian doctor`."""
