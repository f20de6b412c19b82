"""The skyq command line."""
