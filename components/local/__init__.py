"""Components of type-token module `triton:local:*`."""
