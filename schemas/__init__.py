"""berth's JSON Schema of the compose file (compose.schema.json), a package only so that an
installed berth carries it beside compose/ (compose.validate reads it from there)."""
