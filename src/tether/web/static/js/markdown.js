// A small Markdown renderer that builds DOM nodes directly. Agent output is untrusted:
// nothing here ever parses HTML. Raw HTML in the source stays literal text, and a link
// becomes an <a> only when its URL is http, https or mailto (else its source is shown).
//
// Supported: paragraphs (single newlines kept as line breaks), ATX headings, fenced code
// blocks, block quotes, ordered/unordered (nested) lists, tables, horizontal rules,
// inline code, **bold**, *italic*, [links](https://…) and bare https:// URLs.

import { h, safeHref } from "./dom.js";

const MAX_DEPTH = 8;
const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_SEP = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

/** Render Markdown source into a fragment of safe DOM nodes. */
export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment();
  const text = String(source ?? "").replace(/\r\n?/g, "\n");
  for (const node of blocks(text.split("\n"), 0)) fragment.appendChild(node);
  return fragment;
}

function startsBlock(line, next) {
  return (
    FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) ||
    ITEM.test(line) || (line.includes("|") && next !== undefined && TABLE_SEP.test(next) && next.includes("-"))
  );
}

function blocks(lines, depth) {
  if (depth > MAX_DEPTH) return [h("p", {}, lines.join("\n"))];
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) {
      i += 1;
    } else if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const body = [];
      i += 1;
      while (i < lines.length && !(lines[i].trim().startsWith(fence[0].repeat(fence.length)) && !lines[i].trim().replace(new RegExp(`^\\${fence[0]}+`), "").trim())) {
        body.push(lines[i]);
        i += 1;
      }
      i += 1; // the closing fence (or the end)
      const lang = (m[2] || "").replace(/[^\w+-]/g, "").slice(0, 20);
      const code = h("code", lang ? { class: "lang-" + lang } : {}, body.join("\n"));
      out.push(h("pre", { class: "md-code" }, code));
    } else if ((m = HEADING.exec(line))) {
      out.push(h("h" + m[1].length, { class: "md-h" }, inline(m[2] || "", depth)));
      i += 1;
    } else if (RULE.test(line)) {
      out.push(h("hr"));
      i += 1;
    } else if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && lines[i].trim() && (m = QUOTE.exec(lines[i]))) {
        body.push(m[1]);
        i += 1;
      }
      out.push(h("blockquote", {}, blocks(body, depth + 1)));
    } else if (ITEM.test(line)) {
      i = list(lines, i, depth, out);
    } else if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      i = table(lines, i, depth, out);
    } else {
      const para = [line.trim()];
      i += 1;
      while (i < lines.length && lines[i].trim() && !startsBlock(lines[i], lines[i + 1])) {
        para.push(lines[i].trim());
        i += 1;
      }
      const parts = [];
      para.forEach((text, n) => {
        if (n) parts.push(h("br"));
        parts.push(...inline(text, depth));
      });
      out.push(h("p", {}, parts));
    }
  }
  return out;
}

function indentOf(line) {
  return line.match(/^\s*/)[0].replace(/\t/g, "    ").length;
}

function list(lines, start, depth, out) {
  const first = ITEM.exec(lines[start]);
  const base = indentOf(lines[start]);
  const ordered = /\d/.test(first[2]);
  const el = h(ordered ? "ol" : "ul");
  if (ordered) {
    const n = parseInt(first[2], 10);
    if (n !== 1) el.setAttribute("start", String(n));
  }
  let i = start;
  while (i < lines.length) {
    const m = ITEM.exec(lines[i]);
    if (!m || indentOf(lines[i]) !== base || /\d/.test(m[2]) !== ordered) break;
    const body = [m[3]];
    let loose = false;
    i += 1;
    while (i < lines.length) {
      const line = lines[i];
      if (!line.trim()) {
        // A blank line continues the item only when indented text follows.
        if (i + 1 < lines.length && lines[i + 1].trim() && indentOf(lines[i + 1]) > base) {
          loose = true;
          body.push("");
          i += 1;
          continue;
        }
        break;
      }
      const nested = ITEM.exec(line);
      if (nested && indentOf(line) <= base) break;
      if (!nested && indentOf(line) <= base && startsBlock(line, lines[i + 1])) break;
      body.push(line.slice(Math.min(indentOf(line), base + 2)));
      i += 1;
    }
    const content = blocks(body, depth + 1);
    const li = h("li");
    if (!loose && content.length && content[0].tagName === "P") {
      // A tight item: its first paragraph's content sits directly in the <li>.
      while (content[0].firstChild) li.appendChild(content[0].firstChild);
      content.shift();
    }
    for (const node of content) li.appendChild(node);
    el.appendChild(li);
  }
  out.push(el);
  return i;
}

function cells(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function table(lines, start, depth, out) {
  const head = cells(lines[start]);
  const aligns = cells(lines[start + 1]).map((c) =>
    c.startsWith(":") && c.endsWith(":") ? "center" : c.endsWith(":") ? "right" : null,
  );
  const thead = h("thead", {}, h("tr", {}, head.map((c, n) => h("th", { class: aligns[n] ? "al-" + aligns[n] : null }, inline(c, depth)))));
  const tbody = h("tbody");
  let i = start + 2;
  while (i < lines.length && lines[i].trim() && lines[i].includes("|")) {
    const row = cells(lines[i]);
    tbody.appendChild(h("tr", {}, head.map((_c, n) => h("td", { class: aligns[n] ? "al-" + aligns[n] : null }, inline(row[n] || "", depth)))));
    i += 1;
  }
  out.push(h("div", { class: "md-table" }, h("table", {}, thead, tbody)));
  return i;
}

const ESCAPABLE = /[\\`*_[\]()#+\-.!>~|{}]/;

/** Inline Markdown to an array of nodes. */
export function inline(text, depth = 0) {
  const out = [];
  let buf = "";
  const flush = () => {
    if (buf) out.push(document.createTextNode(buf));
    buf = "";
  };
  if (depth > MAX_DEPTH) return [document.createTextNode(text)];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length && ESCAPABLE.test(text[i + 1])) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      let n = 1;
      while (text[i + n] === "`") n += 1;
      const fence = "`".repeat(n);
      let j = text.indexOf(fence, i + n);
      while (j !== -1 && text[j + n] === "`") j = text.indexOf(fence, j + n + 1);
      if (j !== -1) {
        flush();
        out.push(h("code", {}, text.slice(i + n, j).replace(/^ (.*) $/, "$1")));
        i = j + n;
      } else {
        buf += fence;
        i += n;
      }
      continue;
    }
    if (c === "*" || c === "_") {
      const span = emphasis(text, i, c, depth);
      if (span) {
        flush();
        out.push(span.node);
        i = span.end;
        continue;
      }
      buf += c;
      i += 1;
      continue;
    }
    if (c === "[") {
      const link = linkAt(text, i, depth);
      if (link) {
        flush();
        out.push(link.node);
        i = link.end;
        continue;
      }
    }
    if ((c === "h" || c === "H") && /^https?:\/\//i.test(text.slice(i, i + 8)) && !/[\w/]/.test(text[i - 1] || "")) {
      const m = /^https?:\/\/[^\s<>"'`]+/i.exec(text.slice(i));
      let url = m[0].replace(/[.,;:!?)\]]+$/, "");
      const href = safeHref(url);
      if (href) {
        flush();
        out.push(anchor(href, [document.createTextNode(url)]));
        i += url.length;
        continue;
      }
    }
    buf += c;
    i += 1;
  }
  flush();
  return out;
}

function emphasis(text, i, c, depth) {
  const double = text[i + 1] === c;
  const width = double ? 2 : 1;
  const delim = c.repeat(width);
  const open = text[i + width];
  if (!open || /\s/.test(open)) return null;
  if (c === "_" && /\w/.test(text[i - 1] || "")) return null; // snake_case stays text
  let j = text.indexOf(delim, i + width);
  while (j !== -1) {
    const closes = !/\s/.test(text[j - 1]) && !(c === "_" && /\w/.test(text[j + width] || ""));
    const tooShort = j === i + width;
    // "**a*b**": a single delimiter must not stop at half of a double one.
    const half = width === 1 && text[j + 1] === c;
    if (closes && !tooShort && !half) break;
    j = text.indexOf(delim, j + (half ? 2 : 1));
  }
  if (j === -1) return null;
  const inner = inline(text.slice(i + width, j), depth + 1);
  return { node: h(double ? "strong" : "em", {}, inner), end: j + width };
}

function linkAt(text, i, depth) {
  let level = 0;
  let close = -1;
  for (let k = i; k < text.length; k += 1) {
    if (text[k] === "\\") k += 1;
    else if (text[k] === "[") level += 1;
    else if (text[k] === "]") {
      level -= 1;
      if (level === 0) {
        close = k;
        break;
      }
    }
  }
  if (close === -1 || text[close + 1] !== "(") return null;
  let parens = 0;
  let end = -1;
  for (let k = close + 2; k < text.length; k += 1) {
    if (text[k] === "(") parens += 1;
    else if (text[k] === ")") {
      if (parens === 0) {
        end = k;
        break;
      }
      parens -= 1;
    }
  }
  if (end === -1) return null;
  const label = text.slice(i + 1, close);
  const target = text.slice(close + 2, end).trim().replace(/\s+"[^"]*"$/, "").replace(/^<(.*)>$/, "$1");
  const href = safeHref(target);
  if (!href) {
    // Not a link we allow (javascript:, data:, …): show the source as plain text.
    return { node: document.createTextNode(text.slice(i, end + 1)), end: end + 1 };
  }
  return { node: anchor(href, inline(label, depth + 1)), end: end + 1 };
}

function anchor(href, children) {
  return h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, children);
}
