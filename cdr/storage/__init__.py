"""Where recording bytes live: deterministic object keys, the local spool, the storage backend.

Imports no service, sink or task: the sinks, the services and the views all stand on it.
"""
