/** Source text with line numbers (a release's compose file, a rendered state). */
export function CodeView(props: { text: string; label: string }) {
  const lines = props.text.replace(/\n$/, "").split("\n");
  return (
    <pre className="code-view" aria-label={props.label}>
      {lines.map((line, i) => (
        <div key={i} className="code-line">
          <span className="ln" aria-hidden="true">
            {i + 1}
          </span>
          <span>{line || " "}</span>
        </div>
      ))}
    </pre>
  );
}

export type DiffLineKind = "add" | "del" | "hunk" | "meta" | "ctx";

export function diffLineKind(line: string): DiffLineKind {
  if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("Index:") || line.startsWith("====")) {
    return "meta";
  }
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "add";
  if (line.startsWith("-")) return "del";
  return "ctx";
}

/** A unified diff with added and removed lines highlighted (and marked for screen readers). */
export function UnifiedDiff(props: { diff: string }) {
  const lines = props.diff.replace(/\n$/, "").split("\n");
  return (
    <pre className="code-view diff" aria-label="Unified diff">
      {lines.map((line, i) => {
        const kind = diffLineKind(line);
        return (
          <div key={i} className={`code-line diff-${kind}`} data-kind={kind}>
            {kind === "add" && <span className="visually-hidden">added: </span>}
            {kind === "del" && <span className="visually-hidden">removed: </span>}
            <span>{line || " "}</span>
          </div>
        );
      })}
    </pre>
  );
}
