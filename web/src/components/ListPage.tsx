import type { ReactNode } from "react";
import { AsyncContent, type AsyncState } from "./AsyncContent.js";
import { PageHeader, PermittedButton } from "./PageHeader.js";

/** The create action of a list page: disabled, with the reason, without its permission. */
export interface ListPageAction {
  label: string;
  permission: string;
  allowed: boolean;
  onClick: () => void;
}

/**
 * A page that lists an org's items (tokens, credentials…): its header with the create action, then loading, error
 * with retry, the empty text, or the list the caller renders.
 */
export function ListPage<T>(props: {
  title: string;
  subtitle: ReactNode;
  action: ListPageAction;
  state: AsyncState<T[]>;
  loadingLabel: string;
  empty: ReactNode;
  children: (items: T[]) => ReactNode;
}) {
  const { action } = props;
  return (
    <>
      <PageHeader
        title={props.title}
        subtitle={props.subtitle}
        actions={
          <PermittedButton allowed={action.allowed} permission={action.permission} onClick={action.onClick}>
            {action.label}
          </PermittedButton>
        }
      />
      <AsyncContent
        state={props.state}
        loadingLabel={props.loadingLabel}
        isEmpty={(items) => items.length === 0}
        empty={props.empty}
      >
        {props.children}
      </AsyncContent>
    </>
  );
}
