"""A tiny stand-in for Claude Code that speaks its stream-json protocol on stdio.

It needs no network, which makes it the default agent of `tether up` and the
workhorse of tests. What it does with a turn:

* `long [N]` — streams an answer in N chunks (default 40), one assistant message
  each, `TETHER_DEMO_DELAY` seconds apart (default 0.05); an interrupt stops it.
* `run <command>` — asks permission (`can_use_tool`, tool Bash) before "running"
  the command; it never runs anything, it only says what it would have done.
* `exit [N]` — exits with code N (default 3), as a crash would.
* anything else — a short echo with these hints.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
import time
import uuid
from typing import Any

_out_lock = threading.Lock()


def _send(message: dict[str, Any]) -> None:
    with _out_lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


class DemoAgent:
    """The demo's state: its session id, pending permission answers, the interrupt flag."""

    def __init__(self, session_id: str, permission_mode: str) -> None:
        self.session_id = session_id
        self.permission_mode = permission_mode
        self.turns: queue.Queue[str | None] = queue.Queue()
        self.answers: dict[str, queue.Queue[dict[str, Any]]] = {}
        self.interrupted = threading.Event()
        self.initialized = False
        self.delay = float(os.environ.get("TETHER_DEMO_DELAY", "0.05"))

    # stdin ------------------------------------------------------------------------------

    def read_stdin(self) -> None:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                print(f"demo: ignoring a line that is not JSON: {line[:80]}", file=sys.stderr)
                continue
            self.on_message(msg)
        self.turns.put(None)

    def on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "control_request":
            request = msg.get("request") or {}
            subtype = request.get("subtype")
            if subtype == "interrupt":
                self.interrupted.set()
            elif subtype == "set_permission_mode":
                self.permission_mode = str(request.get("mode"))
            _send(
                {
                    "type": "control_response",
                    "response": {
                        "subtype": "success",
                        "request_id": msg.get("request_id"),
                        "response": self.control_answer(str(subtype)),
                    },
                }
            )
        elif kind == "control_response":
            response = msg.get("response") or {}
            box = self.answers.get(str(response.get("request_id")))
            if box is not None:
                box.put(response.get("response") or {})
        elif kind == "user":
            content = (msg.get("message") or {}).get("content")
            if isinstance(content, list):
                content = " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
            self.turns.put(str(content or ""))

    def control_answer(self, subtype: str) -> dict[str, Any]:
        if subtype == "initialize":
            return {"commands": [], "models": [], "current_permission_mode": self.permission_mode}
        if subtype == "set_permission_mode":
            return {"mode": self.permission_mode}
        return {}

    # turns -------------------------------------------------------------------------------

    def run(self) -> int:
        threading.Thread(target=self.read_stdin, daemon=True).start()
        while True:
            text = self.turns.get()
            if text is None:
                return 0
            self.interrupted.clear()
            if not self.initialized:
                self.initialized = True
                _send(
                    {
                        "type": "system",
                        "subtype": "init",
                        "session_id": self.session_id,
                        "model": "tether-demo",
                        "tools": ["Bash"],
                        "cwd": os.getcwd(),
                        "permissionMode": self.permission_mode,
                    }
                )
            words = text.strip().split()
            head = words[0].lower() if words else ""
            if head == "exit":
                return int(words[1]) if len(words) > 1 and words[1].isdigit() else 3
            if head == "long":
                self.long_answer(int(words[1]) if len(words) > 1 and words[1].isdigit() else 40)
            elif head == "run":
                self.run_command(text.strip()[3:].strip() or "true")
            else:
                self.say(
                    f"You said: {text}\n\n(demo agent — try `long 20`, `run touch x`, `exit 1`)"
                )
                self.result("success", f"You said: {text}")

    def say(self, text: str) -> None:
        _send(
            {
                "type": "assistant",
                "session_id": self.session_id,
                "message": {
                    "id": "msg_" + uuid.uuid4().hex[:12],
                    "role": "assistant",
                    "model": "tether-demo",
                    "content": [{"type": "text", "text": text}],
                },
            }
        )

    def result(self, subtype: str, text: str) -> None:
        _send(
            {
                "type": "result",
                "subtype": subtype,
                "is_error": subtype != "success",
                "result": text,
                "session_id": self.session_id,
                "num_turns": 1,
                "usage": {"input_tokens": 10, "output_tokens": len(text.split())},
                "total_cost_usd": 0.0,
            }
        )

    def long_answer(self, chunks: int) -> None:
        for i in range(1, chunks + 1):
            if self.interrupted.wait(self.delay):
                self.result("error_during_execution", f"interrupted after {i - 1} chunks")
                return
            self.say(f"chunk {i}/{chunks}: " + "lorem ipsum dolor sit amet " * 3)
        self.result("success", f"streamed {chunks} chunks")

    def run_command(self, command: str) -> None:
        tool_use_id = "toolu_" + uuid.uuid4().hex[:12]
        if self.permission_mode != "bypassPermissions":
            request_id = "perm_" + uuid.uuid4().hex[:12]
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self.answers[request_id] = box
            _send(
                {
                    "type": "control_request",
                    "request_id": request_id,
                    "request": {
                        "subtype": "can_use_tool",
                        "tool_name": "Bash",
                        "input": {
                            "command": command,
                            "description": "demo: pretend to run a command",
                        },
                        "permission_suggestions": [],
                        "tool_use_id": tool_use_id,
                    },
                }
            )
            answer = self.wait_answer(box)
            self.answers.pop(request_id, None)
            if answer is None:
                self.result("error_during_execution", "interrupted while waiting for permission")
                return
            if answer.get("behavior") != "allow":
                reason = answer.get("message") or "denied"
                self.tool_round(tool_use_id, command, f"Permission denied: {reason}", is_error=True)
                self.say(f"OK, I did not run `{command}`.")
                self.result("success", f"did not run {command}")
                return
            command = str((answer.get("updatedInput") or {}).get("command", command))
        self.tool_round(tool_use_id, command, f"(demo) pretended to run: {command}", is_error=False)
        self.say(f"Done: ran `{command}`.")
        self.result("success", f"ran {command}")

    def wait_answer(self, box: queue.Queue[dict[str, Any]]) -> dict[str, Any] | None:
        while not self.interrupted.is_set():
            try:
                return box.get(timeout=0.05)
            except queue.Empty:
                continue
        return None

    def tool_round(self, tool_use_id: str, command: str, output: str, *, is_error: bool) -> None:
        _send(
            {
                "type": "assistant",
                "session_id": self.session_id,
                "message": {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": tool_use_id,
                            "name": "Bash",
                            "input": {"command": command},
                        }
                    ],
                },
            }
        )
        _send(
            {
                "type": "user",
                "session_id": self.session_id,
                "message": {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": tool_use_id,
                            "content": output,
                            "is_error": is_error,
                        }
                    ],
                },
            }
        )


def main(argv: list[str]) -> int:
    """Parse the Claude-style flags the demo cares about and serve stdin until EOF."""
    session_id = str(uuid.uuid4())
    mode = "default"
    for i, arg in enumerate(argv):
        if arg.startswith(("--resume=", "--session-id=")):
            session_id = arg.split("=", 1)[1]
        elif arg == "--resume" and i + 1 < len(argv):
            session_id = argv[i + 1]
        elif arg == "--permission-mode" and i + 1 < len(argv):
            mode = argv[i + 1]
    # Like a well-behaved CLI, end cleanly when asked to (`tether stop` sends TERM).
    signal.signal(signal.SIGTERM, _exit_on_term)
    time.sleep(0)  # nothing to set up: the demo is ready at once
    return DemoAgent(session_id, mode).run()


def _exit_on_term(signum: int, frame: object) -> None:
    # Every message was flushed when written; a half-written one is better dropped than
    # finished from a signal handler (which could deadlock on the output lock).
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
