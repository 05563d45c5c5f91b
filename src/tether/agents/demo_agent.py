"""A tiny stand-in for Claude Code that speaks its stream-json protocol on stdio.

It needs no network, which makes it the default agent of `tether up` and the
workhorse of tests. It shows what a Claude session looks like in tether — text, tool
calls with their output, permission prompts, a diff, what each turn cost — and it
never runs a command or writes a file. What it does with a turn:

* `long [N]` — streams an answer in N chunks (default 40), one assistant message
  each, `TETHER_DEMO_DELAY` seconds apart (default 0.05); an interrupt stops it.
* `run <command>` — asks permission (`can_use_tool`, tool Bash) before "running"
  the command; it only says what it would have done.
* `edit [file]` — reads the file (pretend content: a greeting) and asks permission for
  an Edit of it, with the old and new strings, as Claude's Edit tool does; nothing is
  written.
* `exit [N]` — exits with code N (default 3), as a crash would.
* anything else — a short echo with these hints.

Every turn ends with a `result` carrying usage and a cost, as Claude Code's does: the
conversation's running `total_cost_usd` and this turn's in `model_usage_since_last_result`.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
import uuid
from typing import Any

#: One JSON object of the stream-json protocol, either way.
Message = dict[str, Any]

MODEL = "tether-demo"
HINT = "(demo agent — try `long 20`, `run touch x`, `edit hello.py`, `exit 1`)"
# Pretend prices (US dollars per million tokens), so the cost a viewer shows is plausible.
_INPUT_PRICE, _OUTPUT_PRICE = 3.0, 15.0
_GREETING = ('def greet(name):\n    print("hello", name)\n', 'print("hello", name)')

_out_lock = threading.Lock()


def _send(message: Message) -> None:
    with _out_lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def _number(words: list[str], default: int) -> int:
    return int(words[1]) if len(words) > 1 and words[1].isdigit() else default


class DemoAgent:
    """The demo's state: its session id, pending permission answers, the interrupt flag."""

    def __init__(self, session_id: str, permission_mode: str) -> None:
        self.session_id = session_id
        self.permission_mode = permission_mode
        self.turns: queue.Queue[str | None] = queue.Queue()
        self.answers: dict[str, queue.Queue[Message]] = {}
        self.interrupted = threading.Event()
        self.initialized = False
        self.delay = float(os.environ.get("TETHER_DEMO_DELAY", "0.05"))
        self.total_cost = 0.0

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
            if isinstance(msg, dict):
                self.on_message(msg)
        self.turns.put(None)

    def on_message(self, msg: Message) -> None:
        kind = msg.get("type")
        if kind == "control_request":
            request = msg.get("request") or {}
            subtype = request.get("subtype")
            if subtype == "interrupt":
                self.interrupted.set()
            elif subtype == "set_permission_mode":
                self.permission_mode = str(request.get("mode"))
            response = {"subtype": "success", "request_id": msg.get("request_id")}
            response["response"] = self.control_answer(str(subtype))
            _send({"type": "control_response", "response": response})
        elif kind == "control_response":
            answer = msg.get("response") or {}
            box = self.answers.get(str(answer.get("request_id")))
            if box is not None:
                box.put(answer.get("response") or {})
        elif kind == "user":
            content = (msg.get("message") or {}).get("content")
            if isinstance(content, list):
                content = " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
            self.turns.put(str(content or ""))

    def control_answer(self, subtype: str) -> Message:
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
            self.announce()
            words = text.strip().split()
            head = words[0].lower() if words else ""
            if head == "exit":
                return _number(words, 3)
            if head == "long":
                self.long_answer(_number(words, 40))
            elif head == "run":
                self.run_command(text.strip()[3:].strip() or "true")
            elif head == "edit":
                self.edit_file(words[1] if len(words) > 1 else "hello.py")
            else:
                self.say(f"You said: {text}\n\n{HINT}")
                self.result("success", f"You said: {text}", len(text))

    def announce(self) -> None:
        """`system/init` before the first turn, as the CLI sends it."""
        if self.initialized:
            return
        self.initialized = True
        init: Message = {"type": "system", "subtype": "init", "session_id": self.session_id}
        init.update(model=MODEL, tools=["Bash", "Edit", "Read"], cwd=os.getcwd())
        _send({**init, "permissionMode": self.permission_mode})

    def say(self, text: str) -> None:
        message: Message = {"id": "msg_" + uuid.uuid4().hex[:12], "role": "assistant"}
        message["model"] = MODEL
        message["content"] = [{"type": "text", "text": text}]
        _send({"type": "assistant", "session_id": self.session_id, "message": message})

    def result(self, subtype: str, text: str, size: int) -> None:
        """End the turn; `size` (characters the turn handled) sets its pretend usage."""
        usage = {
            "input_tokens": 1200 + size // 4,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 2400,
            "output_tokens": 20 + size // 8,
        }
        cost = (usage["input_tokens"] + usage["cache_read_input_tokens"] // 10) * _INPUT_PRICE
        cost = round((cost + usage["output_tokens"] * _OUTPUT_PRICE) / 1e6, 6)
        self.total_cost = round(self.total_cost + cost, 6)
        _send(
            {
                "type": "result",
                "subtype": subtype,
                "is_error": subtype != "success",
                "result": text,
                "session_id": self.session_id,
                "num_turns": 1,
                "usage": usage,
                "total_cost_usd": self.total_cost,
                "model_usage_since_last_result": {MODEL: {"costUSD": cost}},
            }
        )

    def long_answer(self, chunks: int) -> None:
        for i in range(1, chunks + 1):
            if self.interrupted.wait(self.delay):
                self.result("error_during_execution", f"interrupted after {i - 1} chunks", i)
                return
            self.say(f"chunk {i}/{chunks}: " + "lorem ipsum dolor sit amet " * 3)
        self.result("success", f"streamed {chunks} chunks", chunks * 90)

    def run_command(self, command: str) -> None:
        tool_use_id = self.call_tool("Bash", {"command": command})
        tool_input = {"command": command, "description": "demo: pretend to run a command"}
        needed = self.permission_mode != "bypassPermissions"
        answer = self.ask("Bash", tool_input, tool_use_id, needed=needed)
        if answer is None:
            self.interrupted_tool(tool_use_id)
            return
        if answer.get("behavior") != "allow":
            reason = answer.get("message") or "denied"
            self.tool_result(tool_use_id, f"Permission denied: {reason}", is_error=True)
            self.say(f"OK, I did not run `{command}`.")
            self.result("success", f"did not run {command}", len(command))
            return
        command = str((answer.get("updatedInput") or {}).get("command", command))
        self.tool_result(tool_use_id, f"(demo) pretended to run: {command}", is_error=False)
        self.say(f"Done: ran `{command}`.")
        self.result("success", f"ran {command}", len(command))

    def edit_file(self, name: str) -> None:
        path = os.path.join(os.getcwd(), name)
        content, old = _GREETING
        new = old.replace('"hello"', '"hello, and welcome"')
        self.say(f"Let me look at {name} first.")
        read_id = self.call_tool("Read", {"file_path": path})
        numbered = "".join(f"{n:>6}\t{line}\n" for n, line in enumerate(content.splitlines(), 1))
        self.tool_result(read_id, numbered, is_error=False)
        edit = {"file_path": path, "old_string": old, "new_string": new, "replace_all": False}
        edit_id = self.call_tool("Edit", edit)
        # Claude asks before an edit unless the mode accepts edits.
        needed = self.permission_mode not in ("acceptEdits", "bypassPermissions")
        answer = self.ask("Edit", edit, edit_id, needed=needed, description=name)
        if answer is None:
            self.interrupted_tool(edit_id)
        elif answer.get("behavior") != "allow":
            reason = answer.get("message") or "denied"
            self.tool_result(edit_id, f"Permission denied: {reason}", is_error=True)
            self.say(f"OK, I left {name} as it was.")
            self.result("success", f"did not edit {name}", len(content))
        else:
            done = f"The file {path} has been updated successfully. (demo: nothing was written)"
            self.tool_result(edit_id, done, is_error=False)
            self.say(f"Done: {name} now greets with a welcome.")
            self.result("success", f"edited {name}", len(content) * 3)

    def ask(
        self,
        tool: str,
        tool_input: Message,
        tool_use_id: str,
        *,
        needed: bool,
        **details: Any,
    ) -> Message | None:
        """The owner's answer to a `can_use_tool` request (None: interrupted while waiting);
        allowed without asking when the permission mode says it is not `needed`."""
        if not needed:
            return {"behavior": "allow", "updatedInput": tool_input}
        request_id = "perm_" + uuid.uuid4().hex[:12]
        box: queue.Queue[Message] = queue.Queue()
        self.answers[request_id] = box
        request: Message = {"subtype": "can_use_tool", "tool_name": tool}
        request["input"] = tool_input
        request.update(permission_suggestions=[], tool_use_id=tool_use_id, **details)
        _send({"type": "control_request", "request_id": request_id, "request": request})
        try:
            while not self.interrupted.is_set():
                try:
                    return box.get(timeout=0.05)
                except queue.Empty:
                    continue
            return None
        finally:
            self.answers.pop(request_id, None)

    def interrupted_tool(self, tool_use_id: str) -> None:
        """End a turn interrupted while its tool call waited for permission."""
        self.tool_result(tool_use_id, "[Request interrupted by user for tool use]", is_error=True)
        self.result("error_during_execution", "interrupted while waiting for permission", 0)

    def call_tool(self, name: str, tool_input: Message) -> str:
        """An assistant message calling `name`; returns its tool_use id."""
        tool_use_id = "toolu_" + uuid.uuid4().hex[:12]
        call = {"type": "tool_use", "id": tool_use_id, "name": name, "input": tool_input}
        message = {"role": "assistant", "model": MODEL, "content": [call]}
        _send({"type": "assistant", "session_id": self.session_id, "message": message})
        return tool_use_id

    def tool_result(self, tool_use_id: str, output: str, *, is_error: bool) -> None:
        block: Message = {"type": "tool_result", "tool_use_id": tool_use_id}
        block["content"] = output
        block["is_error"] = is_error
        message = {"role": "user", "content": [block]}
        _send({"type": "user", "session_id": self.session_id, "message": message})


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
    return DemoAgent(session_id, mode).run()


def _exit_on_term(signum: int, frame: object) -> None:
    # Every message was flushed when written; a half-written one is better dropped than
    # finished from a signal handler (which could deadlock on the output lock).
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
