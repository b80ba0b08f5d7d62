"""The typed stack configuration: schema, errors, loading, provider defaults and the rules per area and cloud."""
