"""Local runtime, topic catalog and the `pipeline` command line."""
