"""The triton-platform policy pack (pulumi-policy, Python); see PulumiPolicy.yaml and rules.py."""
