from switchboard.ingest.adapters.storage import SCHEMA, metadata
from switchboard.platform.migrations import run_env

run_env(metadata, SCHEMA)
