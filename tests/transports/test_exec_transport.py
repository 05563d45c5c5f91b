"""The `exec` transport, with a local stand-in for `kubectl exec -i POD --`.

No Docker engine or Kubernetes cluster runs where these tests run, so `fake-kubectl`
(a few lines of sh) plays the part: it drops `exec -i POD --` and execs the rest, as
kubectl does inside the pod. Everything tether does — the wrapper, the env over stdin,
quoting, the handshake, terminate — is the real code path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.hub import running_hub, wait_for_event
from tether.config import TeamConfig, TetherConfig
from tether.errors import ConfigError, TransportError
from tether.transports.exec_prefix import ExecTransport
from tether.transports.factory import transport_for
from tether.transports.failures import RemotePathNotFound
from tether.transports.remote_spec import ExecPrefix, SshTarget, parse_remote

FAKE_KUBECTL = """#!/bin/sh
# Stands in for `kubectl exec -i POD -- CMD...`: drop everything up to `--`, run the rest.
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done
shift
exec "$@"
"""


@pytest.fixture
def fake_kubectl(tmp_path: Path) -> Path:
    script = tmp_path / "bin" / "fake-kubectl"
    script.parent.mkdir()
    script.write_text(FAKE_KUBECTL)
    script.chmod(0o755)
    return script


def _team(prefix: Path, path: Path, **kwargs: object) -> TeamConfig:
    return TeamConfig(name="pod", path=str(path), remote=f"{prefix} exec -i pod-0 --", **kwargs)  # type: ignore[arg-type]


async def test_demo_session_through_an_exec_prefix(fake_kubectl: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "work space; echo hi"
    workspace.mkdir()
    config = TetherConfig(teams={"pod": _team(fake_kubectl, workspace, agent="demo")})
    async with running_hub(tmp_path, config) as hub, hub.client() as client:
        session = await client.start("pod")
        async with hub.allowing_session(session["id"]) as remote:
            await remote.send_message("run make test")
            finished = await wait_for_event(remote, "turn_finished")
            assert finished["result"] == "ran make test"
            await client.stop(session["id"])
            exited = await wait_for_event(remote, "exited")
            assert exited["reason"] == "stopped"


async def test_exec_path_env_and_terminate(fake_kubectl: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "a b;c"
    workspace.mkdir()
    transport = transport_for(_team(fake_kubectl, workspace), tmp_path)
    assert isinstance(transport, ExecTransport)
    script = (
        "import os; print(os.getcwd()); print(os.environ['TOKEN']); import time; time.sleep(60)"
    )
    proc = await transport.spawn(
        [sys.executable, "-c", script], cwd=str(workspace), env={"TOKEN": "x y $z"}
    )
    lines = proc.lines("stdout")
    assert (await anext(lines)).decode() == str(workspace)
    assert (await anext(lines)).decode() == "x y $z"
    assert transport.is_busy()
    assert await proc.terminate(grace_s=5) == -15
    with pytest.raises(RemotePathNotFound, match="does not exist"):
        await transport.spawn(["true"], cwd=str(tmp_path / "missing"), env={})


async def test_failing_prefix_reports_its_message(tmp_path: Path) -> None:
    broken = tmp_path / "no-such-pod"
    broken.write_text(
        "#!/bin/sh\necho 'Error from server (NotFound): pods \"x\" not found' >&2\nexit 1\n"
    )
    broken.chmod(0o755)
    transport = transport_for(_team(broken, tmp_path), tmp_path)
    with pytest.raises(TransportError, match="NotFound"):
        await transport.spawn(["true"], cwd=str(tmp_path), env={})


def test_remote_specs() -> None:
    assert parse_remote("ssh dev@build-box") == SshTarget("build-box", "dev")
    assert parse_remote("ssh -p 2222 -l dev box") == SshTarget("box", "dev", 2222)
    assert parse_remote("ssh://dev@box:2200") == SshTarget("box", "dev", 2200)
    assert parse_remote("ssh box") == SshTarget("box")
    assert parse_remote("docker exec -i backend") == ExecPrefix(("docker", "exec", "-i", "backend"))
    assert parse_remote("kubectl exec -i pod-0 --") == ExecPrefix(
        ("kubectl", "exec", "-i", "pod-0", "--")
    )
    assert parse_remote("wsl") == ExecPrefix(("wsl",))
    assert parse_remote(None) is None and parse_remote("local") is None
    with pytest.raises(ConfigError, match="no -i"):
        parse_remote("docker exec backend", "api")
    with pytest.raises(ConfigError, match="tty"):
        parse_remote("docker exec -it backend", "api")
    with pytest.raises(ConfigError, match="remote_options"):
        parse_remote("ssh -o ProxyJump=x box", "api")
    with pytest.raises(ConfigError, match="exactly one host"):
        parse_remote("ssh a b", "api")
