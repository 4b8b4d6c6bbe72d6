"""The subcommands of `kubidu`, one module per area; each has `register(app)` called by main."""
