"""ingest's adapters: what talks to the world outside the domain. Channel parsers (Twilio
form posts, raw email) that turn a provider's input into the inbound model, and the I/O:
PostgreSQL (storage, queries, line labels, sign-in limits), Kafka (publish), the attachment
store, the providers' APIs (media, senders) and the other services (peers)."""
