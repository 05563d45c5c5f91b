"""Terminal sessions: any program in a pseudo-terminal, mirrored to every viewer.

    tether run -- CMD          the user's own terminal is the session's console; a small
                               background host (`host`) holds the PTY, so it outlives it
    agent = "terminal"         a team whose program runs in a PTY on the runner

Both feed the same `mirror.TerminalMirror`: the output bytes, filtered (`filter`), become
`terminal_output` events; a `pyte` screen model (`screen`) gives late viewers
`terminal_snapshot`s and plain-text transcripts. See docs/terminal.md.
"""
