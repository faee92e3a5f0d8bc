"""Per-user authentication and isolation for the deployment, on both engines.

`security.handlers.auth` is the `langgraph_sdk.Auth` object that `langgraph.json` names
under `auth.path`: it verifies bearer tokens (`security.tokens`) as configured by the
environment (`security.settings`), and stamps and filters every resource by its owner.
"""
