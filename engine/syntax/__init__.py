"""From text to a schema-valid document: the strict loader, the JSON Schema check, `extends:` merging."""
