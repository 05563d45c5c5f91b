// File edits as diffs: Edit/MultiEdit (old_string → new_string) and Write (content).
// A plain line diff (longest common subsequence), capped so a huge file cannot freeze
// the page; every line is set with textContent.

import { h, visible } from "./dom.js";

const MAX_CELLS = 400_000; // old lines × new lines; beyond it: all removed, then all added

/** Lines of a diff between two texts: [[" "|"-"|"+", line], …]. */
export function lineDiff(oldText, newText) {
  const a = String(oldText ?? "").split("\n");
  const b = String(newText ?? "").split("\n");
  if (oldText === "" || oldText === undefined || oldText === null) return b.map((l) => ["+", l]);
  if (a.length * b.length > MAX_CELLS) {
    return [...a.map((l) => ["-", l]), ...b.map((l) => ["+", l])];
  }
  // lcs[i][j]: length of the LCS of a[i:] and b[j:]
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push([" ", a[i]]);
      i += 1;
      j += 1;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push(["-", a[i]]);
      i += 1;
    } else {
      out.push(["+", b[j]]);
      j += 1;
    }
  }
  while (i < a.length) out.push(["-", a[i++]]);
  while (j < b.length) out.push(["+", b[j++]]);
  return out;
}

const SIGN_CLASS = { " ": "ctx", "-": "del", "+": "add" };

/** A <pre> showing a diff. */
export function diffView(pairs) {
  return h(
    "pre",
    { class: "diff" },
    pairs.map(([sign, line]) => h("span", { class: "diff-" + SIGN_CLASS[sign] }, sign + " " + visible(line) + "\n")),
  );
}

/** The diff view of a file-editing tool call, or null when the input is not one. */
export function editDiff(tool, input) {
  if (!input || typeof input !== "object") return null;
  const name = String(tool || "").toLowerCase();
  if (typeof input.old_string === "string" && typeof input.new_string === "string") {
    return diffView(lineDiff(input.old_string, input.new_string));
  }
  if (Array.isArray(input.edits)) {
    const pairs = [];
    input.edits.forEach((edit, n) => {
      if (n) pairs.push([" ", "⋯"]);
      pairs.push(...lineDiff(edit?.old_string ?? "", edit?.new_string ?? ""));
    });
    return diffView(pairs);
  }
  if ((name === "write" || name.endsWith("write")) && typeof input.content === "string") {
    return diffView(lineDiff("", input.content));
  }
  return null;
}
