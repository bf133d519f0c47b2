"""ingest's inside, Pure: the rules of inbound messages with no I/O (the channel-neutral
inbound model, the one builder of MessageReceived with its threading rule, the errors an
intake answers with, the directory of lines, identity checks, signed links)."""
