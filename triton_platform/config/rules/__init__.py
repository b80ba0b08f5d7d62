"""Cross-key rules on a parsed PlatformConfig, one module per area and per cloud."""
