import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { browserRefreshLock, cookieSessionStore } from "./api/browser-session.js";
import { ApiClient } from "./api/client.js";
import { App } from "./app/App.js";
import "@xterm/xterm/css/xterm.css";
import "./styles.css";

const client = new ApiClient({ store: cookieSessionStore(), withRefreshLock: browserRefreshLock });
const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");

createRoot(root).render(
  <StrictMode>
    <BrowserRouter>
      <App client={client} />
    </BrowserRouter>
  </StrictMode>,
);
