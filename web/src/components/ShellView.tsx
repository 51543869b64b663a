import type { ReactNode } from "react";
import { NavLink } from "react-router-dom";
import type { Me } from "../api/types.js";

export interface NavItem {
  to: string;
  label: string;
}

/** Header (brand, nav, org switcher, user, logout) around the page. */
export function ShellView(props: {
  me: Me;
  nav: NavItem[];
  onSwitchOrg: (orgId: string) => void;
  onLogout: () => void;
  accountHref: string;
  /** Whether the page follows live updates or polls (the header's status). */
  indicator?: ReactNode;
  children: ReactNode;
}) {
  const { me } = props;
  return (
    <div className="shell">
      <header className="topbar">
        <NavLink to={props.nav[0]?.to ?? "/"} className="brand">
          Stackyard
        </NavLink>
        <nav aria-label="Main">
          {props.nav.map((item) => (
            <NavLink key={item.to} to={item.to} className={({ isActive }) => (isActive ? "active" : undefined)}>
              {item.label}
            </NavLink>
          ))}
        </nav>
        <div className="topbar-right">
          {props.indicator}
          {me.orgs.length > 1 ? (
            <label className="org-switch">
              <span className="visually-hidden">Organization</span>
              <select value={me.org.id} onChange={(e) => props.onSwitchOrg(e.target.value)} aria-label="Organization">
                {me.orgs.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <span className="org-name" title="Organization">
              {me.org.name}
            </span>
          )}
          <NavLink to={props.accountHref} className="user" title={`${me.role}: your account and password`}>
            {me.user.email}
          </NavLink>
          <button type="button" className="secondary small" onClick={props.onLogout}>
            Log out
          </button>
        </div>
      </header>
      <main className="content">{props.children}</main>
    </div>
  );
}
