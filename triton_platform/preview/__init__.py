"""Pull-request previews: Pulumi engine event logs turned into one review comment.

Plain logic only: the event classes come from ``pulumi.automation.events`` (plain Python
classes of the Pulumi SDK, no resources and no engine), everything else is ours.
"""
