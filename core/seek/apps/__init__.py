"""Apps that ship with the core."""
