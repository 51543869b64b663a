/**
 * A jsdom window as the global environment of the component tests. Node's own fetch, Response, URL, etc. stay:
 * only what Node lacks is taken from jsdom, plus the DOM entry points that must be jsdom's.
 */
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", {
  url: "http://localhost/",
  pretendToBeVisual: true,
});
const win = dom.window as unknown as Record<string, unknown>;
const globals = globalThis as unknown as Record<string, unknown>;

for (const key of Object.getOwnPropertyNames(dom.window)) {
  if (key in globalThis) continue;
  globals[key] = win[key];
}
// FormData too: React builds one from a submitted <form>, which must be jsdom's element for jsdom's FormData.
for (const key of [
  "window",
  "document",
  "navigator",
  "localStorage",
  "sessionStorage",
  "location",
  "history",
  "FormData",
]) {
  Object.defineProperty(globalThis, key, { value: win[key], configurable: true, writable: true });
}
// Tells React that updates in tests are wrapped in act() by Testing Library.
globals.IS_REACT_ACT_ENVIRONMENT = true;
