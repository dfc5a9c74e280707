"""The embedded local runtime: Kafka and the schema registry from Maven Central, run with Java."""
