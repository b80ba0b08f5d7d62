"""Per-cloud facts: IAM documents, Azure roles, naming rules, the kind config, kubeconfig files."""
