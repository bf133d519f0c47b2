"""pm-sync's adapters: the MLLP server and client, the FHIR client, the HL7 parse worker
pool, and schema pm_sync (tables and queries). They use domain/, never entrypoints/."""
