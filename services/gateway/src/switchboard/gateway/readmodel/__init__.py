"""The gateway's read-only queries on the inbox read models (owned by inbox-projection), one
module per noun: inbox (views, conversations, patients; the generation pointer and the shared
SQL fragments), search, as_of, documents, visibility (for the access checks). No routes."""
