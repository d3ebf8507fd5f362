"""orderly."""
