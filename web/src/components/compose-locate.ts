/**
 * Finds where in a compose text the API's complaints point, so the editor can mark the line: an invalid-YAML
 * error carries its line and column; a schema error carries a dotted path (`services.web.deploy.replicas`), looked
 * up in the text's own parse tree (the key's line when the key itself is the problem).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { ApiError } from "../api/client.js";
import { yamlErrorPosition } from "./ErrorNotice.js";

export interface ComposeMark {
  line: number;
  column: number | null;
  /** What is wrong there, with its path. */
  message: string;
}

const MAX_MARKS = 20;

function pathItems(details: unknown): Array<{ path: string; message: string }> {
  if (!Array.isArray(details)) return [];
  return details.flatMap((d: unknown) => {
    if (!d || typeof d !== "object") return [];
    const { path, message } = d as { path?: unknown; message?: unknown };
    return typeof path === "string" && typeof message === "string" && !path.startsWith("/") ? [{ path, message }] : [];
  });
}

/** The text range of the key (or item) at `segments`, deepest first found. */
function rangeAt(root: Node | null, segments: string[]): [number, number] | null {
  let node: Node | null = root;
  let range: [number, number] | null = null;
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
      if (!pair) return range;
      const key = pair.key as Node;
      if (key.range) range = [key.range[0], key.range[1]];
      node = (pair.value as Node | null) ?? null;
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) return range;
      if (item.range) range = [item.range[0], item.range[1]];
      node = item;
    } else {
      return range;
    }
  }
  return range;
}

export function composeMarks(text: string, error: unknown): ComposeMark[] {
  if (!(error instanceof ApiError)) return [];
  const position = yamlErrorPosition(error);
  // The mark says where already; the message's own "at line L, column C" would say it twice.
  if (position) {
    const message = error.message.replace(/^invalid YAML at line \d+(?:, column \d+)?: /, "invalid YAML: ");
    return [{ line: position.line, column: position.column, message }];
  }
  const items = pathItems(error.details);
  if (items.length === 0) return [];
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: false });
  const marks: ComposeMark[] = [];
  for (const { path, message } of items.slice(0, MAX_MARKS)) {
    const range = rangeAt(doc.contents as Node | null, path === "" ? [] : path.split("."));
    if (!range) continue;
    const { line, col } = counter.linePos(range[0]);
    marks.push({ line, column: col, message: `${path}: ${message}` });
  }
  return marks;
}

/** Character offsets of a 1-based line in `text`, for selecting it in a textarea. */
export function lineOffsets(text: string, line: number): [number, number] | null {
  const lines = text.split("\n");
  if (line < 1 || line > lines.length) return null;
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  return [start, start + lines[line - 1]!.length];
}
