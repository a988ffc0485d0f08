"""berth's compose layer: load compose files into a typed model, plan, and drive the runtime."""
