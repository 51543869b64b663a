import { Link } from "react-router-dom";
import type { Release } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { CodeView } from "../../components/Code.js";
import { CopyButton } from "../../components/CopyButton.js";
import { PageHeader } from "../../components/PageHeader.js";
import { formatDateTime } from "../../components/RelativeTime.js";

export function ReleaseView(props: { state: AsyncState<Release>; stackHref: (stackId: string) => string }) {
  return (
    <AsyncContent state={props.state} loadingLabel="Loading release…">
      {(r) => (
        <>
          <p className="crumbs">
            <Link to={props.stackHref(r.stackId)}>← Stack</Link>
          </p>
          <PageHeader
            title={`Release v${r.version}`}
            subtitle={
              <>
                {r.sourceType === "git" ? "From git" : "Uploaded"} {formatDateTime(r.createdAt)}
                {r.sourceRef && (
                  <>
                    {" "}
                    · <span className="mono">{r.sourceRef}</span>
                  </>
                )}{" "}
                · sha256 <span className="mono small">{r.sha256}</span>
              </>
            }
            actions={<CopyButton text={r.composeYaml} label="Copy YAML" />}
          />
          {r.warnings.length > 0 && (
            <div className="notice">
              <strong>Swarm ignores parts of this file</strong>
              <ul>
                {r.warnings.map((w, i) => (
                  <li key={i}>
                    {w.service && (
                      <>
                        service <code>{w.service}</code>:{" "}
                      </>
                    )}
                    {w.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <CodeView text={r.composeYaml} label={`Compose file of release v${r.version}`} />
        </>
      )}
    </AsyncContent>
  );
}
