"""ingest's entrypoints: where work comes in. HTTP routes (provider webhooks, the patient
page and its API, the internal API), the SMTP listener, the Kafka consumers and the outbound
dispatcher loop. They translate; the rules are in domain/, the I/O in adapters/."""
