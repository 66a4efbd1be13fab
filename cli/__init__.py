"""The `relayflow` command line: a layer above the engine (and the web server for `serve`)."""
