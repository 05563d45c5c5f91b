"""The hub: HTTP API, runner and viewer sockets, session broker and fan-out."""
