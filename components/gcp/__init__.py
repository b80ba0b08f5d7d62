"""Components of type-token module `triton:gcp:*`."""
