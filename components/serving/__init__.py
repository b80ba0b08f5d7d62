"""Components of type-token module `triton:serving:*`."""
