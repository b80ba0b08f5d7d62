"""Components of type-token module `triton:azure:*`."""
