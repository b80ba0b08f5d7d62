"""Components of type-token module `triton:aws:*`."""
