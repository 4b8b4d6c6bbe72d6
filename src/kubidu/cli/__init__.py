"""The `kubidu` command-line client: a pure HTTP client of the Kubidu API (docs/api.md).

The console script `kubidu` runs `kubidu.cli.main:run`. Nothing here imports the server side
(store, services, control, ...): the CLI goes through the HTTP API so that there is exactly one
authorization path and one audit path.
"""
