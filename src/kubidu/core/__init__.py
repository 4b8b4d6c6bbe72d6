"""Pure domain: value types, state machines, naming rules and validation. No I/O."""
