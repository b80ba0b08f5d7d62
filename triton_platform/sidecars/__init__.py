"""Programs shipped into pods (as ConfigMaps) and run there, not in `pulumi up`."""
