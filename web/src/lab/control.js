// The control API (development only, admin token, through the edge): components with
// their state, health and role; levers (kill/stop/start, flags, load shapes); code view.
import { api } from "../common/api.js";

export const listComponents = () => api("/api/control/components").then(({ data }) => data);

/** Pull one lever of a card: returns the control API's answer. */
export function pull(lever) {
  switch (lever.action) {
    case "kill":
    case "stop":
    case "start":
      return api(`/api/control/components/${encodeURIComponent(lever.component)}/${lever.action}`, { method: "POST" });
    case "flag":
      return api(`/api/control/flags/${encodeURIComponent(lever.flag)}`, { method: "PUT", body: { value: lever.value } });
    case "load":
      return api("/api/control/load", { method: "POST", body: { shape: lever.shape, users: lever.users ?? 10, seconds: lever.seconds ?? 60 } });
    case "load-stop":
      return api("/api/control/load", { method: "DELETE" });
    default:
      return Promise.reject(new Error(`unknown lever action ${lever.action}`));
  }
}

export const loadStatus = () => api("/api/control/load").then(({ data }) => data);

export async function readCode(path) {
  const response = await fetch(`/api/control/code?${new URLSearchParams({ path })}`, {
    headers: { authorization: `Bearer ${JSON.parse(localStorage.getItem("scaleshop.session") || "{}").access_token}` },
  });
  return response.ok ? response.text() : `(${response.status}) ${await response.text()}`;
}
