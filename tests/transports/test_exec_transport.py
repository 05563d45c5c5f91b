"""The `exec` transport, with a local stand-in for `kubectl exec -i POD --`.

No Docker engine or Kubernetes cluster runs where these tests run, so `fake-kubectl`
(a few lines of sh) plays the part: it drops `exec -i POD --` and execs the rest, as
kubectl does inside the pod. Everything tether does — the wrapper, the env over stdin,
quoting, the handshake, terminate — is the real code path; the cases every transport
shares (paths, env, exit codes, terminate) are in test_contract.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.hub import team_session, wait_for_event
from tether.config import TeamConfig
from tether.errors import ConfigError, TransportError
from tether.remote.spec import ExecPrefix, parse_remote
from tether.transports.factory import transport_for

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
    team = _team(fake_kubectl, workspace, agent="demo")
    async with team_session(tmp_path, team, allowing=True) as session:
        await session.remote.send_message("run make test")
        finished = await wait_for_event(session.remote, "turn_finished")
        assert finished["result"] == "ran make test"
        await session.client.stop(session.id)
        exited = await wait_for_event(session.remote, "exited")
        assert exited["reason"] == "stopped"


async def test_failing_prefix_reports_its_message(tmp_path: Path) -> None:
    broken = tmp_path / "no-such-pod"
    broken.write_text(
        "#!/bin/sh\necho 'Error from server (NotFound): pods \"x\" not found' >&2\nexit 1\n"
    )
    broken.chmod(0o755)
    transport = transport_for(_team(broken, tmp_path), tmp_path)
    with pytest.raises(TransportError, match="NotFound"):
        await transport.spawn(["true"], cwd=str(tmp_path), env={})


def test_exec_remote_specs() -> None:
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
    # A terminal team may have its tty.
    assert parse_remote("docker exec -it c", "t", allow_tty=True) == ExecPrefix(
        ("docker", "exec", "-it", "c")
    )
    with pytest.raises(ConfigError, match="names no program"):
        parse_remote("''", "api")
