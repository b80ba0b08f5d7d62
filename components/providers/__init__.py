"""Dynamic providers (`pulumi.dynamic`): ModelVersion and ReleasePromotion, apart from the components."""
