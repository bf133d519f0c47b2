"""pm-sync's domain. Pure: HL7 v2 and FHIR R4 -> events, ACK content, the appointment and
patient folds, the read models. No I/O library (the import-linter `pure-modules` rule)."""
