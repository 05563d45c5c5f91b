"""What each ssh command-line option means to tether, as tables (used by `ssh_args`).

An option either stands for `-o` options tether passes on, is managed by tether (user,
port, identity, known hosts, config file), is dropped with a note, or is refused with
the reason it cannot work and what to write instead.
"""

from __future__ import annotations

import re

# Flags without a value that stand for one or more ssh options.
FLAG_OPTIONS: dict[str, tuple[str, ...]] = {
    "4": ("AddressFamily=inet",),
    "6": ("AddressFamily=inet6",),
    "A": ("ForwardAgent=yes",),
    "a": ("ForwardAgent=no",),
    "C": ("Compression=yes",),
    "g": ("GatewayPorts=yes",),
    "K": ("GSSAPIAuthentication=yes", "GSSAPIDelegateCredentials=yes"),
    "k": ("GSSAPIDelegateCredentials=no",),
    "X": ("ForwardX11=yes",),
    "x": ("ForwardX11=no",),
    "Y": ("ForwardX11=yes", "ForwardX11Trusted=yes"),
}
# Flags with a value that stand for one ssh option.
VALUE_OPTIONS = {
    "b": "BindAddress",
    "B": "BindInterface",
    "c": "Ciphers",
    "e": "EscapeChar",
    "I": "PKCS11Provider",
    "J": "ProxyJump",
    "m": "MACs",
    "P": "Tag",
}
# Flags with a value that tether manages (-i -l -p -F) or reads as an option (-o); all
# flags that take a value (refused ones too: their value is read before the refusal).
MANAGED_VALUES = frozenset("ilpFo")
VALUE_FLAGS = frozenset(VALUE_OPTIONS) | MANAGED_VALUES | frozenset("SOWLRDwE")

TTY = (
    "asks for a terminal (tty), which rewrites the agent's byte stream (line endings, echo)",
    'drop it; only terminal teams (agent = "terminal") may ask for a tty',
)
FORWARDING = (
    "sets up a forwarding; on tether's shared connection it would be opened by whichever"
    " session connects first and outlive it",
    "run the forwarding as its own `ssh -N -L …` next to tether",
)
LOG_AWAY = (
    "moves ssh's messages away from stderr, where tether reads them to tell an"
    " authentication failure from a network one",
    "drop it; tether keeps ssh's log level and shows its messages when a connection fails",
)
# Flag → (why it cannot work, what to write instead).
REFUSED_FLAGS: dict[str, tuple[str, str]] = {
    "t": TTY,
    "N": ("runs no remote command, so the agent would never start", "drop -N"),
    "f": ("sends ssh to the background, which cuts tether off the agent's stdin", "drop -f"),
    "n": ("gives the agent /dev/null as its input", "drop -n"),
    "s": ("asks for an ssh subsystem instead of running the agent", "drop -s"),
    "M": (
        "makes this ssh a connection master; tether runs the shared connection itself",
        "drop -M (remote_options.control_persist says how long the connection stays up)",
    ),
    "S": (
        "sets the control socket, which tether manages",
        "drop -S (remote_options.control_persist = 0 turns connection sharing off)",
    ),
    "O": ("sends a command to a running master instead of starting the agent", "drop -O"),
    "W": (
        "forwards stdio to another host instead of running the agent",
        "for a jump host write -J HOST",
    ),
    "G": ("prints the configuration and exits", "drop -G"),
    "V": ("prints the version and exits", "drop -V"),
    "L": FORWARDING,
    "R": FORWARDING,
    "D": FORWARDING,
    "w": FORWARDING,
    "E": LOG_AWAY,
    "y": LOG_AWAY,
}
# Flags that are dropped: tether sets ssh's log level itself (it must read ssh's errors).
DROPPED_FLAGS = {"q": "quiet mode", "v": "verbose mode"}
CONTROL = (
    "is managed by tether (one shared connection per host, user, port and key)",
    "drop it; remote_options.control_persist sets how long the shared connection stays up"
    " (0 turns sharing off)",
)
# -o keys (lower case) whose use is refused, with the values that are refused (None: all).
REFUSED_OPTIONS: dict[str, tuple[frozenset[str] | None, tuple[str, str]]] = {
    "controlmaster": (None, CONTROL),
    "controlpath": (None, CONTROL),
    "controlpersist": (None, CONTROL),
    "requesttty": (frozenset({"yes", "force"}), TTY),
    "sessiontype": (frozenset({"none", "subsystem"}), REFUSED_FLAGS["N"]),
    "stdinnull": (frozenset({"yes"}), REFUSED_FLAGS["n"]),
    "forkafterauthentication": (frozenset({"yes"}), REFUSED_FLAGS["f"]),
    "localforward": (None, FORWARDING),
    "remoteforward": (None, FORWARDING),
    "dynamicforward": (None, FORWARDING),
    "tunnel": (frozenset({"yes", "point-to-point", "ethernet"}), FORWARDING),
    "remotecommand": (
        None,
        (
            "replaces the command, and tether runs the agent as the remote command",
            "drop it; set the team's `path` and `command` for what runs there",
        ),
    ),
}
NO_HOST_KEY_CHECK = (
    "turns host key checking off: a host whose key has CHANGED (a man-in-the-middle)"
    " would be accepted without a word",
    "write -o StrictHostKeyChecking=accept-new: it trusts a new host on first use and"
    " still refuses a changed key",
)
STRICT_VALUES = {"yes": "yes", "ask": "yes", "accept-new": "accept-new"}
KEYWORD = re.compile(r"\s*([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(\S.*?)\s*$", re.DOTALL)
