"""Data containers, readers, converters and splits."""
