from switchboard.platform.migrations import run_env
from switchboard.router.storage import SCHEMA, metadata

run_env(metadata, SCHEMA)
