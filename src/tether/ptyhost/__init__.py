"""The PTY host of `tether run` (docs/terminal.md): a small background process that holds
the programs' pseudo-terminals, so they outlive the terminal they were started in, and
publishes each as a session through a runner connection of the user's own device.

`run.py` is the `tether run` side (start the host if needed, be the program's console),
`host.py` the host process, `held.py` one held terminal, `sessions.py` the host's
sessions as the hub sees them. The pure parts (screen model, filter, PTY, hooks) are
`tether.terminal`.
"""
