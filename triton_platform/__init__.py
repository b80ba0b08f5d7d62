"""Plain logic of triton-platform, one subpackage per concern (docs/architecture.md): the typed config,
catalogues, per-cloud facts, chart values, the model publisher, releases, previews, in-pod programs.

No module here registers a Pulumi resource: components/ wire this logic into resources. The Pulumi
SDK is imported in four modules, never for resources:
- ``config.loading``: ``load_config`` (run by ``__main__.py`` under ``pulumi up``) reads the stack's
  settings and name through ``pulumi.runtime.config`` and ``pulumi.get_stack``;
- ``release.promote``: one of the promote command's two ways to read a stack's outputs is the
  Automation API (imported inside that function);
- ``preview.events`` and ``preview.fields``: the engine event classes of ``pulumi.automation.events``
  and the wire sentinels (secret, unknown) of ``pulumi.runtime.rpc``.
"""
