"""The demo practice (`make up`, tests, benchmarks): a deterministic practice (practice.py),
its HL7 v2 feed sent to pm-sync over MLLP (load.py) and its FHIR R4 "EHR" (fhir_server.py).
Not part of any service image."""
