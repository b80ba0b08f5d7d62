"""Components of type-token module `triton:monitoring:*`."""
