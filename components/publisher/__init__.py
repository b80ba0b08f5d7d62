"""Components of type-token module `triton:publisher:*`."""
