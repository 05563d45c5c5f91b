"""What a mirrored terminal stream may carry: the one filter between a program and viewers.

A viewer's terminal (xterm.js, or the terminal `tether attach` runs in) interprets every
byte a mirrored program writes. Most of that is the point — text, colours, cursor moves,
modes — but some sequences do things on the viewer's machine that no mirror needs and an
attacker wants:

* OSC 52 writes the viewer's clipboard; OSC 8 makes text a hyperlink; OSC 0/1/2 set the
  window title and icon (old terminals even echo titles back as input); OSC 7, 9, 777,
  1337 … tell the terminal about files, notifications and downloads.
* Queries — device attributes (`CSI c`), status and cursor reports (`CSI n`), mode
  reports (`CSI $ p`), window reports (`CSI t`), DECRQSS/XTGETTCAP (DCS), XTVERSION,
  ENQ, DECID — make the viewer's terminal *type an answer*: the owner's `tether attach`
  would forward it as keystrokes the viewer never typed.
* DCS, APC, PM and SOS strings (tmux passthrough, kitty graphics, sixel) can smuggle
  any of the above.

`MirrorFilter` drops all of those and passes everything else byte for byte. It is a small
VT-parser state machine over code points (UTF-8 decoded with `surrogateescape`, so bytes
that are not UTF-8 pass unchanged), so a sequence cut across two reads is still caught,
and the 8-bit C1 forms (U+009B CSI, U+009D OSC …) are treated like their ESC forms. Only
the colour OSCs that *set* (never query) a palette entry are kept. The same filter runs
where the bytes leave the program (the PTY host, the terminal adapter) and again where
they reach a terminal (`tether attach`), so a hostile runner cannot skip it either.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter

ESC, BEL, CAN, SUB, ENQ = "\x1b", "\x07", "\x18", "\x1a", "\x05"
C1_CSI, C1_OSC, C1_DCS, C1_ST = "\x9b", "\x9d", "\x90", "\x9c"
C1_STRINGS = {"\x98": "sos", "\x9e": "pm", "\x9f": "apc"}
ESC_STRINGS = {"P": "dcs", "X": "sos", "^": "pm", "_": "apc"}

# Palette colour OSCs a mirror may pass on when they set (never when they ask, "?").
SAFE_OSC = frozenset({4, 104, 105, *range(10, 20), *range(110, 120)})
MAX_CSI = 256  # longer parameter strings are dropped whole
MAX_OSC = 16 * 1024

# Where GROUND text stops: anything that may start or alter a sequence.
_SPECIAL = re.compile("[\x1b\x05\x90\x98\x9b\x9c\x9d\x9e\x9f]")


def _csi_is_dropped(body: str) -> bool:
    """Is `CSI body` (parameters, intermediates, final) a query or a window operation?"""
    final = body[-1]
    private = body[0] if body[0] in "<=>?" else ""
    intermediates = "".join(c for c in body[:-1] if " " <= c <= "/")
    if final in "cnt":  # DA1/2/3, DSR/CPR, XTWINOPS (reports, moves, resizes, titles)
        return True
    if final == "x" and not intermediates:  # DECREQTPARM
        return True
    if intermediates == "$" and final in "pwu":  # DECRQM, DECRQPSR, DECRQTSR
        return True
    if intermediates == "*" and final == "y":  # DECRQCRA (asks for a checksum)
        return True
    if private == ">" and final == "q":  # XTVERSION
        return True
    return private == "?" and final in "umS"  # kitty keyboard, XTQMODKEYS, XTSMGRAPHICS


def _osc_is_kept(body: str) -> bool:
    number, _, rest = body.partition(";")
    if not number.isdigit() or int(number) not in SAFE_OSC:
        return False
    return "?" not in rest


class MirrorFilter:
    """Stateful: feed it the program's output in any pieces; it returns what may be mirrored."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._state = "ground"
        self._seq: list[str] = []  # the sequence being read (kept ones are re-emitted whole)
        self._kind = ""  # osc, dcs, sos, pm, apc while in a string
        self.dropped: Counter[str] = Counter()
        """What was removed, by name (`osc52`, `csi:c`, `dcs` …): for tests and metrics."""

    def feed(self, data: bytes) -> bytes:
        """Filter the next piece of output."""
        text = self._decoder.decode(data)
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            if self._state == "ground":
                match = _SPECIAL.search(text, i)
                if match is None:
                    out.append(text[i:])
                    break
                out.append(text[i : match.start()])
                i = match.start()
                self._ground_special(text[i], out)
                i += 1
            else:
                i = self._in_sequence(text, i, out)
        return "".join(out).encode("utf-8", "surrogateescape")

    # -- states ------------------------------------------------------------------------------

    def _ground_special(self, char: str, out: list[str]) -> None:
        if char == ESC:
            self._start("esc", char)
        elif char == ENQ:
            self.dropped["enq"] += 1
        elif char == C1_CSI:
            self._start("csi", ESC + "[")
        elif char == C1_OSC:
            self._start_string("osc", ESC + "]")
        elif char == C1_DCS:
            self._start_string("dcs", ESC + "P")
        elif char in C1_STRINGS:
            self._start_string(C1_STRINGS[char], "")
        elif char == C1_ST:
            self.dropped["c1"] += 1  # a string terminator outside any string: void
        else:  # text, or a C1 control that only moves the cursor (NEL, IND, RI …)
            out.append(char)

    def _start(self, state: str, text: str) -> None:
        self._state, self._seq = state, [text]

    def _start_string(self, kind: str, text: str) -> None:
        self._state, self._kind, self._seq = "string", kind, [text]

    def _in_sequence(self, text: str, i: int, out: list[str]) -> int:
        char = text[i]
        if char in (CAN, SUB):  # cancels any sequence (and is itself harmless)
            self._state, self._seq = "ground", []
            out.append(char)
            return i + 1
        if self._state in ("esc", "esc_intermediate") and char < " " and char != ESC:
            # A C0 control inside an escape acts at once (VT rules); ENQ never reaches anyone.
            if char == ENQ:
                self.dropped["enq"] += 1
            else:
                out.append(char)
        elif self._state == "esc":
            self._after_esc(char, out)
        elif self._state == "esc_intermediate":
            self._seq.append(char)
            if "0" <= char <= "~":
                out.append("".join(self._seq))
                self._state = "ground"
        elif self._state == "csi":
            self._csi_char(char, out)
        elif self._state == "string":
            self._string_char(char, out)
        elif self._state == "string_esc":
            self._string_esc(char, out)
        return i + 1

    def _after_esc(self, char: str, out: list[str]) -> None:
        if char == "[":
            self._start("csi", ESC + "[")
        elif char == "]":
            self._start_string("osc", ESC + "]")
        elif char in ESC_STRINGS:
            self._start_string(ESC_STRINGS[char], ESC + char)
        elif char == ESC:
            self.dropped["esc"] += 1  # ESC ESC: the first one is void
            self._start("esc", ESC)
        elif " " <= char <= "/":  # ESC ( B, ESC # 8 …: an intermediate, then a final
            self._start("esc_intermediate", ESC + char)
        elif char == "\\":  # a string terminator outside any string: void
            self.dropped["esc:st"] += 1
            self._state = "ground"
        elif char == "Z":  # DECID: identify yourself (answers like DA)
            self.dropped["esc:Z"] += 1
            self._state = "ground"
        else:
            out.append(ESC + char)
            self._state = "ground"

    def _csi_char(self, char: str, out: list[str]) -> None:
        self._seq.append(char)
        if "@" <= char <= "~":  # the final byte
            sequence = "".join(self._seq)
            body = sequence[2:]
            if _csi_is_dropped(body):
                self.dropped[f"csi:{body[-1]}"] += 1
            else:
                out.append(sequence)
            self._state, self._seq = "ground", []
        elif len(self._seq) > MAX_CSI or char < " ":
            self.dropped["csi:long"] += 1
            self._state, self._seq = "ground", []

    def _string_char(self, char: str, out: list[str]) -> None:
        if char == BEL and self._kind == "osc":
            self._end_string(BEL, out)
        elif char == C1_ST:
            self._end_string(ESC + "\\", out)
        elif char == ESC:
            self._state = "string_esc"
        elif len(self._seq) <= MAX_OSC:
            self._seq.append(char)

    def _string_esc(self, char: str, out: list[str]) -> None:
        self._state = "string"
        if char == "\\":
            self._end_string(ESC + "\\", out)
            return
        # ESC inside a string ends it (as in xterm) and starts a new escape sequence.
        self._end_string("", out)
        self._start("esc", ESC)
        self._after_esc(char, out)

    def _end_string(self, terminator: str, out: list[str]) -> None:
        body = "".join(self._seq[1:])
        if self._kind == "osc" and len(self._seq) <= MAX_OSC and _osc_is_kept(body):
            out.append(self._seq[0] + body + (terminator or BEL))
        elif self._kind == "osc":
            number = body.partition(";")[0]
            self.dropped[f"osc{number if number.isdigit() else '?'}"] += 1
        else:
            self.dropped[self._kind] += 1
        self._state, self._seq, self._kind = "ground", [], ""


def filter_once(data: bytes) -> bytes:
    """Filter one complete piece of output (a snapshot, a test)."""
    return MirrorFilter().feed(data)
