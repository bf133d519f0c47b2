from switchboard.platform.migrations import run_env
from switchboard.pm_sync.adapters.storage import SCHEMA, metadata

run_env(metadata, SCHEMA)
