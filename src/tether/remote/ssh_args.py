"""An ssh command line as people write it in `remote`, parsed as OpenSSH parses it.

    remote = "ssh -i ~/.ssh/codespace_key dev@host"
    remote = "ssh -o StrictHostKeyChecking=accept-new -p 2222 -J bastion host"

Bundled flags (`-4C`), glued values (`-p2222`, `-oKey=Value`), options after the
destination and `ssh://user@host:port` are read the way `ssh` reads them; the first
value of an option wins, as in ssh. What tether manages itself comes out as fields
(user, port, identities, known hosts, host key policy, config file); every other
option becomes a `Key=Value` that is passed on as `-o Key=Value`.

Refused, with the reason and what to write instead, is only what would break the
agent's byte stream or the shared connection tether manages: a tty (except for
terminal teams), running no command or a subsystem, going to the background,
master/control-socket options, stdio and port forwardings, ssh's own log moved away
from stderr (tether reads it to classify failures), and `StrictHostKeyChecking=no`.
What each option means is in `ssh_rules`, as tables; this module is the parser.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tether.errors import ConfigError
from tether.remote.ssh_rules import (
    DROPPED_FLAGS,
    FLAG_OPTIONS,
    KEYWORD,
    NO_HOST_KEY_CHECK,
    REFUSED_FLAGS,
    REFUSED_OPTIONS,
    STRICT_VALUES,
    VALUE_FLAGS,
    VALUE_OPTIONS,
)


@dataclass(frozen=True)
class SshArgs:
    """What an ssh command line says: the destination and the options, sorted out."""

    host: str | None = None
    user: str | None = None
    port: int | None = None
    identities: tuple[str, ...] = ()
    known_hosts: str | None = None
    strict_host_key_checking: str | None = None  # "yes" | "accept-new"
    config_file: str | None = None
    options: tuple[str, ...] = ()  # everything else, as "Key=Value"
    tty: bool = False
    dropped: tuple[str, ...] = ()  # flags left out, and why (for `tether teams check`)


class _Refused(ValueError):
    """One part of the command line that cannot be used (the caller adds where)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_ssh_args(
    words: list[str], *, where: str, allow_tty: bool = False, with_host: bool = True
) -> SshArgs:
    """Parse ssh's words after `ssh` (or `remote_options.extra_args` with `with_host=False`).

    `where` starts every error message (e.g. "team 'api', field 'remote'").
    """
    try:
        args = _parse(words, allow_tty=allow_tty, with_host=with_host)
    except _Refused as exc:
        raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from None
    if with_host and args.host is None:
        raise ConfigError(f"{where}: names no host", hint='write remote = "ssh [user@]host"')
    return args


def extra_ssh_args(
    extra_args: list[str], extra_options: list[str], where: str = "remote_options"
) -> SshArgs:
    """A team's `remote_options.extra_args` and `extra_options`, read like a `remote` line."""
    words = [*extra_args]
    for option in extra_options:
        words += ["-o", option]
    return parse_ssh_args(words, where=where, with_host=False)


def merged(first: SshArgs, then: SshArgs) -> SshArgs:
    """`first` with `then` after it: first values win (as in ssh), lists add up."""
    return SshArgs(
        host=first.host or then.host,
        user=first.user or then.user,
        port=first.port or then.port,
        identities=(*first.identities, *then.identities),
        known_hosts=first.known_hosts or then.known_hosts,
        strict_host_key_checking=first.strict_host_key_checking or then.strict_host_key_checking,
        config_file=first.config_file or then.config_file,
        options=(*first.options, *then.options),
        tty=first.tty or then.tty,
        dropped=(*first.dropped, *then.dropped),
    )


def _parse(words: list[str], *, allow_tty: bool, with_host: bool) -> SshArgs:
    args = SshArgs()
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--" and with_host and args.host is None and i < len(words):
            args = _destination(args, words[i])
            i += 1
        elif word.startswith("-") and len(word) > 1:
            args, i = _flags(args, word, words, i, allow_tty=allow_tty)
        elif with_host and args.host is None:
            args = _destination(args, word)
        elif with_host:
            raise _Refused(
                f"has words after the host ({' '.join(words[i - 1 :])!r}): tether runs the"
                " agent as the remote command",
                hint="set the team's `path` and `command` for what runs there",
            )
        else:
            raise _Refused(f"{word!r} is not an ssh option", hint="write options such as -J HOST")
    return args


def _flags(
    args: SshArgs, word: str, words: list[str], i: int, *, allow_tty: bool
) -> tuple[SshArgs, int]:
    """One word of bundled flags (`-4C`, `-tt`, `-p2222`, `-Cp 22`); returns the next index."""
    j = 1
    while j < len(word):
        flag = word[j]
        j += 1
        if flag in VALUE_FLAGS:
            if j < len(word):
                value = word[j:]
            elif i < len(words):
                value, i = words[i], i + 1
            else:
                raise _Refused(f"ssh option -{flag} needs a value", hint=f"write -{flag} VALUE")
            return _valued(args, flag, value, allow_tty=allow_tty), i
        args = _plain(args, flag, allow_tty=allow_tty)
    return args, i


def _plain(args: SshArgs, flag: str, *, allow_tty: bool) -> SshArgs:
    if flag == "t" and allow_tty:
        return replace(args, tty=True)
    if flag in REFUSED_FLAGS:
        why, instead = REFUSED_FLAGS[flag]
        raise _Refused(f"ssh option -{flag} {why}", hint=instead)
    if flag in FLAG_OPTIONS:
        return replace(args, options=(*args.options, *FLAG_OPTIONS[flag]))
    if flag == "T":
        return replace(args, tty=False)  # no tty: what tether asks for anyway
    if flag in DROPPED_FLAGS:
        note = f"-{flag} ({DROPPED_FLAGS[flag]}) left out: tether sets ssh's log level itself"
        return replace(args, dropped=(*args.dropped, note))
    raise _Refused(f"-{flag} is not an ssh option tether knows", hint="see `man ssh`")


def _valued(args: SshArgs, flag: str, value: str, *, allow_tty: bool) -> SshArgs:
    if flag in REFUSED_FLAGS:
        why, instead = REFUSED_FLAGS[flag]
        raise _Refused(f"ssh option -{flag} {value} {why}", hint=instead)
    if flag == "o":
        return _option(args, value, allow_tty=allow_tty)
    if flag == "i":
        return replace(args, identities=(*args.identities, value))
    if flag == "l":
        return args if args.user is not None else replace(args, user=_user(value))
    if flag == "p":
        return args if args.port is not None else replace(args, port=_port(value))
    if flag == "F":
        return replace(args, config_file=value)
    return replace(args, options=(*args.options, f"{VALUE_OPTIONS[flag]}={value}"))


def _option(args: SshArgs, text: str, *, allow_tty: bool) -> SshArgs:
    """One `-o Key=Value`: a managed option becomes a field, a refused one an error."""
    match = KEYWORD.match(text)
    if match is None:
        raise _Refused(
            f"ssh option -o {text!r} is not `Key=Value`", hint="write -o Key=Value (or 'Key Value')"
        )
    key, value = match.group(1), match.group(2)
    lower, value_lower = key.lower(), value.lower()
    refused = REFUSED_OPTIONS.get(lower)
    tty_ok = lower == "requesttty" and allow_tty
    if refused is not None and not tty_ok and (refused[0] is None or value_lower in refused[0]):
        why, instead = refused[1]
        raise _Refused(f"ssh option -o {key}={value} {why}", hint=instead)
    if lower == "stricthostkeychecking":
        return _strict(args, key, value)
    if lower == "identityfile":
        return replace(args, identities=(*args.identities, value))
    if lower == "userknownhostsfile":
        return args if args.known_hosts is not None else replace(args, known_hosts=value)
    if lower == "user":
        return args if args.user is not None else replace(args, user=_user(value))
    if lower == "port":
        return args if args.port is not None else replace(args, port=_port(value))
    if tty_ok and value_lower in ("yes", "force"):
        return replace(args, tty=True)
    return replace(args, options=(*args.options, f"{key}={value}"))


def _strict(args: SshArgs, key: str, value: str) -> SshArgs:
    if value.lower() in ("no", "off"):
        why, instead = NO_HOST_KEY_CHECK
        raise _Refused(f"ssh option -o {key}={value} {why}", hint=instead)
    policy = STRICT_VALUES.get(value.lower())
    if policy is None:
        raise _Refused(
            f"ssh option -o {key}={value}: unknown value",
            hint="write StrictHostKeyChecking=yes or accept-new",
        )
    if args.strict_host_key_checking is not None:
        return args
    return replace(args, strict_host_key_checking=policy)


def _destination(args: SshArgs, word: str) -> SshArgs:
    """`[user@]host` or `ssh://[user@]host[:port]` (the user and port only if not set yet)."""
    user: str | None
    port: int | None = None
    if word.startswith("ssh://"):
        user, host, port = _url(word)
    else:
        at_user, _, host = word.rpartition("@")
        user = at_user or None
    if not host or host.startswith("-") or any(c.isspace() or c in "'\"`$;|&<>" for c in host):
        raise _Refused(f"no usable host in {word!r}", hint='write remote = "ssh [user@]host"')
    if user is not None and args.user is None:
        args = replace(args, user=_user(user))
    if port is not None and args.port is None:
        args = replace(args, port=port)
    return replace(args, host=host)


def _url(word: str) -> tuple[str | None, str, int | None]:
    rest = word[len("ssh://") :].rstrip("/")
    user, _, hostport = rest.rpartition("@")
    if hostport.startswith("["):  # ssh://[::1]:2222
        host, _, tail = hostport[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else None
    elif hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
    else:
        host, port_text = hostport, None
    return user or None, host, _port(port_text) if port_text is not None else None


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise _Refused(f"bad port {text!r}", hint="a port is a number from 1 to 65535")
    return int(text)


def _user(text: str) -> str:
    if not text or any(c.isspace() for c in text) or text.startswith("-"):
        raise _Refused(f"bad user name {text!r}", hint="write user@host or -l USER")
    return text
