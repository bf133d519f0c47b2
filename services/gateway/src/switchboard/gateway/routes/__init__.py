"""The gateway's HTTP routes, one module per noun. A route module imports the services around
it (auth_deps, conversation_access, clients, readmodel, storage, ...) but never another route
module: an import-linter rule (`gateway-routes-independent`) checks it. app.py mounts them."""
