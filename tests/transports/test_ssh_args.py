"""`remote = "ssh …"` as people write it: every accepted and refused form, as data.

No ssh runs here: the parser and the argv it leads to are pure. The forms against a
real sshd are in test_ssh_remote_forms.py.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.config import RemoteOptions, TeamConfig
from tether.errors import ConfigError
from tether.remote.spec import parse_remote
from tether.remote.ssh_args import SshArgs
from tether.transports.ssh_options import build_ssh_command


def _ssh(spec: str, **kwargs: bool) -> SshArgs:
    args = parse_remote(spec, "api", **kwargs)
    assert isinstance(args, SshArgs)
    return args


ACCEPTED: list[tuple[str, SshArgs]] = [
    ("ssh box", SshArgs(host="box")),
    ("ssh dev@build-box", SshArgs(host="build-box", user="dev")),
    ("ssh -p 2222 -l dev box", SshArgs(host="box", user="dev", port=2222)),
    ("ssh -p2222 -ldev box", SshArgs(host="box", user="dev", port=2222)),
    ("ssh://dev@box:2200", SshArgs(host="box", user="dev", port=2200)),
    ("ssh ssh://dev@[::1]:2200", SshArgs(host="::1", user="dev", port=2200)),
    ("ssh dev@::1", SshArgs(host="::1", user="dev")),
    (
        "ssh -i ~/.ssh/codespace_key dev@codespace-abc.github.dev",
        SshArgs(host="codespace-abc.github.dev", user="dev", identities=("~/.ssh/codespace_key",)),
    ),
    (
        "ssh -o StrictHostKeyChecking=accept-new host",
        SshArgs(host="host", strict_host_key_checking="accept-new"),
    ),
    ("ssh -o 'StrictHostKeyChecking ask' h", SshArgs(host="h", strict_host_key_checking="yes")),
    ("ssh -oStrictHostKeyChecking=yes host", SshArgs(host="host", strict_host_key_checking="yes")),
    ("ssh -J bastion.corp host", SshArgs(host="host", options=("ProxyJump=bastion.corp",))),
    ("ssh -F ~/.ssh/other_config host", SshArgs(host="host", config_file="~/.ssh/other_config")),
    ("ssh -4 host", SshArgs(host="host", options=("AddressFamily=inet",))),
    ("ssh -6 host", SshArgs(host="host", options=("AddressFamily=inet6",))),
    ("ssh -C host", SshArgs(host="host", options=("Compression=yes",))),
    ("ssh -T host", SshArgs(host="host")),
    ("ssh -A user@host", SshArgs(host="host", user="user", options=("ForwardAgent=yes",))),
    (
        "ssh -4Cp 2200 host",
        SshArgs(host="host", port=2200, options=("AddressFamily=inet", "Compression=yes")),
    ),
    # Options after the destination, as ssh allows.
    ("ssh host -p 2200 -C", SshArgs(host="host", port=2200, options=("Compression=yes",))),
    ("ssh -- host", SshArgs(host="host")),
    (
        "ssh -o UserKnownHostsFile=/etc/kh -o User=bob -o Port=2022 -o IdentityFile=/k host",
        SshArgs(host="host", user="bob", port=2022, identities=("/k",), known_hosts="/etc/kh"),
    ),
    (
        "ssh -o ServerAliveInterval=60 -o 'ProxyCommand ssh -W %h:%p gw' host",
        SshArgs(host="host", options=("ServerAliveInterval=60", "ProxyCommand=ssh -W %h:%p gw")),
    ),
    # The first value wins, as in ssh: `-l` before `user@`, the first -p.
    ("ssh -l first second@host -p 1 -p 2", SshArgs(host="host", user="first", port=1)),
    (
        "ssh -i a -i b host",
        SshArgs(host="host", identities=("a", "b")),
    ),
    (
        "ssh -v -q host",
        SshArgs(
            host="host",
            dropped=(
                "-v (verbose mode) left out: tether sets ssh's log level itself",
                "-q (quiet mode) left out: tether sets ssh's log level itself",
            ),
        ),
    ),
    ("ssh -o RequestTTY=no -o SessionType=default host", SshArgs(
        host="host", options=("RequestTTY=no", "SessionType=default"))),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "expected"), ACCEPTED, ids=[spec for spec, _ in ACCEPTED])
def test_accepted_forms(spec: str, expected: SshArgs) -> None:
    assert _ssh(spec) == expected


# (remote, what the error must say, what the hint must offer)
REFUSED: list[tuple[str, str, str]] = [
    ("ssh -t host", "tty", 'agent = "terminal"'),
    ("ssh -tt host", "tty", "drop it"),
    ("ssh -o RequestTTY=force host", "tty", "drop it"),
    ("ssh -N host", "never start", "drop -N"),
    ("ssh -o SessionType=none host", "never start", "drop -N"),
    ("ssh -f host", "background", "drop -f"),
    ("ssh -o ForkAfterAuthentication=yes host", "background", "drop -f"),
    ("ssh -n host", "/dev/null", "drop -n"),
    ("ssh -s host sftp", "subsystem", "drop -s"),
    ("ssh -M host", "master", "control_persist"),
    ("ssh -S /tmp/sock host", "control socket", "control_persist = 0"),
    ("ssh -O check host", "running master", "drop -O"),
    ("ssh -W db:5432 bastion", "forwards stdio", "-J HOST"),
    ("ssh -L 8080:localhost:80 host", "forwarding", "ssh -N -L"),
    ("ssh -R 9000:localhost:9000 host", "forwarding", "ssh -N -L"),
    ("ssh -D 1080 host", "forwarding", "ssh -N -L"),
    ("ssh -o LocalForward='8080 localhost:80' host", "forwarding", "ssh -N -L"),
    ("ssh -E /tmp/ssh.log host", "stderr", "log level"),
    ("ssh -y host", "stderr", "log level"),
    ("ssh -G host", "prints the configuration", "drop -G"),
    ("ssh -o ControlMaster=auto host", "managed by tether", "control_persist"),
    ("ssh -o ControlPath=/tmp/%C host", "managed by tether", "control_persist"),
    ("ssh -o controlpersist=10m host", "managed by tether", "control_persist"),
    ("ssh -o StrictHostKeyChecking=no h", "man-in-the-middle", "StrictHostKeyChecking=accept-new"),
    ("ssh -o 'StrictHostKeyChecking off' host", "man-in-the-middle", "accept-new"),
    ("ssh -o StrictHostKeyChecking=maybe host", "unknown value", "accept-new"),
    ("ssh -o RemoteCommand=bash host", "remote command", "`command`"),
    ("ssh host make test", "words after the host", "`command`"),
    ("ssh a b", "words after the host", "`path`"),
    ("ssh", "names no host", "ssh [user@]host"),
    ("ssh -p", "needs a value", "-p VALUE"),
    ("ssh -p http host", "bad port", "1 to 65535"),
    ("ssh -p 70000 host", "bad port", "1 to 65535"),
    ("ssh -o NoEquals host", "not `Key=Value`", "Key=Value"),
    ("ssh -Z host", "-Z is not an ssh option", "man ssh"),
    ("ssh 'bad;host'", "no usable host", "ssh [user@]host"),
    ("ssh 'a b'", "no usable host", "ssh [user@]host"),
    ("ssh 'unclosed", "cannot parse", "quotes"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "said", "instead"), REFUSED, ids=[s for s, _, _ in REFUSED])
def test_refused_forms_say_why_and_what_to_write(spec: str, said: str, instead: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_remote(spec, "api")
    assert info.value.message.startswith("team 'api', field 'remote': ")
    assert said in info.value.message
    assert info.value.hint is not None and instead in info.value.hint


def test_shell_text_in_a_user_name_is_only_a_name() -> None:
    """ssh gets the user as one argv word (never a shell), so `$(id)` is just odd text."""
    assert _ssh("ssh '$(id)@host'").user == "$(id)"
    with pytest.raises(ConfigError, match="bad user name"):
        parse_remote("ssh -l '' host")


def test_a_terminal_team_may_ask_for_a_tty() -> None:
    assert _ssh("ssh -t host", allow_tty=True).tty is True
    assert _ssh("ssh -o RequestTTY=force host", allow_tty=True).tty is True
    assert TeamConfig(name="t", agent="demo", remote="ssh -T host").remote == "ssh -T host"
    with pytest.raises(ValueError, match=r"field 'remote': ssh option -t asks for a terminal"):
        TeamConfig(name="t", agent="demo", remote="ssh -t host")


def test_remote_options_extra_args_and_options_follow_the_same_rules() -> None:
    assert RemoteOptions(extra_args=["-J", "gw", "-C"]).extra_args == ["-J", "gw", "-C"]
    with pytest.raises(ValueError, match="extra_args / extra_options: ssh option -o ControlPath"):
        RemoteOptions(extra_options=["ControlPath=/tmp/x"])
    with pytest.raises(ValueError, match="man-in-the-middle"):
        RemoteOptions(extra_options=["StrictHostKeyChecking=no"])
    with pytest.raises(ValueError, match="'host' is not an ssh option"):
        RemoteOptions(extra_args=["host"])


def _argv(spec: str, tmp_path: Path, **options: object) -> list[str]:
    return build_ssh_command(_ssh(spec), RemoteOptions(**options), tmp_path).argv(remote="true")  # type: ignore[arg-type]


def _value(argv: list[str], key: str) -> list[str]:
    return [w.split("=", 1)[1] for w in argv if w.startswith(f"{key}=")]


def test_what_remote_says_wins_over_remote_options(tmp_path: Path) -> None:
    argv = _argv(
        "ssh -i /k/remote -p 2200 -l rem -o StrictHostKeyChecking=accept-new host",
        tmp_path,
        identity="/k/options",
        port=22,
        user="opt",
        strict_host_key_checking=True,
    )
    assert _value(argv, "IdentityFile") == ["/k/remote", "/k/options"]  # both tried, in order
    assert _value(argv, "Port") == ["2200"] and _value(argv, "User") == ["rem"]
    assert _value(argv, "StrictHostKeyChecking") == ["accept-new"]
    assert "IdentitiesOnly=yes" in argv
    # tether's own options come first (ssh takes the first value of each).
    assert argv.index("BatchMode=yes") < argv.index("IdentityFile=/k/remote")
    assert argv[-2:] == ["host", "true"]


def test_connection_sharing_follows_everything_that_decides_the_login(tmp_path: Path) -> None:
    def control_path(spec: str) -> str | None:
        return build_ssh_command(_ssh(spec), RemoteOptions(), tmp_path).control_path

    same = control_path("ssh -i /k/a dev@host")
    assert same is not None and same == control_path("ssh dev@host -i /k/a")
    others = {
        control_path(spec)
        for spec in (
            "ssh -i /k/b dev@host",
            "ssh dev@host",
            "ssh -i /k/a ops@host",
            "ssh -i /k/a -p 2 dev@host",
            "ssh -i /k/a -J gw dev@host",
            "ssh -i /k/a -o StrictHostKeyChecking=accept-new dev@host",
            "ssh -i /k/a -F /dev/null dev@host",
        )
    }
    assert same not in others and len(others) == 7
    assert "ControlMaster=auto" in _argv("ssh -i /k/a dev@host", tmp_path)


def test_a_tty_reaches_ssh_only_for_the_agent_of_a_terminal_team(tmp_path: Path) -> None:
    command = build_ssh_command(_ssh("ssh -t host", allow_tty=True), RemoteOptions(), tmp_path)
    assert command.argv(remote="x", tty=command.target.tty)[-3:] == ["-tt", "host", "x"]
    assert "-tt" not in command.argv("-O", "check")  # control commands never get one


_WORD = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1)


@given(identity=_WORD, jump=_WORD.filter(lambda w: w.strip() != ""))
def test_quoted_values_arrive_as_one_argv_word(identity: str, jump: str) -> None:
    """Whatever the quoting in `remote`, each value reaches ssh as exactly one argv word."""
    spec = shlex.join(["ssh", "-i", identity, "-o", f"ProxyJump={jump}", "dev@box"])
    args = _ssh(spec)
    assert args.identities == (identity,)
    assert args.options == (f"ProxyJump={jump.strip()}",)
    no_sharing = RemoteOptions(control_persist=0)
    argv = build_ssh_command(args, no_sharing, Path("/nonexistent-data-dir")).argv()
    assert f"IdentityFile={os.path.expanduser(identity)}" in argv
    assert argv[-1] == "box"


@given(st.lists(st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))))
def test_any_command_line_is_parsed_or_refused_clearly(words: list[str]) -> None:
    """Whatever is written after `ssh`: an SshArgs, or a ConfigError naming the field."""
    try:
        args = parse_remote(shlex.join(["ssh", *words]), "fuzz")
    except ConfigError as exc:
        assert exc.message.startswith("team 'fuzz', field 'remote': ")
        return
    assert isinstance(args, SshArgs) and args.host and not args.host.startswith("-")
    assert not args.tty  # never without allow_tty


def test_huge_numbers_are_bad_ports_not_crashes() -> None:
    for port in (str(2**63), "0", "-1", "65536", "２２"):  # the last: fullwidth digits
        with pytest.raises(ConfigError, match="bad port"):
            parse_remote(f"ssh -p {port} host", "api")


def test_a_home_that_does_not_exist_is_ssh_s_problem_not_a_crash(tmp_path: Path) -> None:
    argv = _argv("ssh -i ~nosuchuser-xyz/key host", tmp_path, identity="~nosuchuser-xyz/k2")
    assert _value(argv, "IdentityFile") == ["~nosuchuser-xyz/key", "~nosuchuser-xyz/k2"]
