"""What every Switchboard service shares: settings, logs, traces, database, Kafka, health."""
