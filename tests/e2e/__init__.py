"""End to end: the real bot over the wire against the Discord stand-in, on both backends."""
