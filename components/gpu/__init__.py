"""Components of type-token module `triton:gpu:*`."""
