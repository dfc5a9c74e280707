"""Shared layer: Avro event schemas, serde, registry checks and connection settings."""
