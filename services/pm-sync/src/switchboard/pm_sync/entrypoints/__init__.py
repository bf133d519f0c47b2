"""pm-sync's entrypoints: the app wiring, the internal HTTP API, the consumer of its own
events, the HL7 intake behind the MLLP listener and the FHIR polling loop."""
