/**
 * Asking the host to show another page: panels dispatch a `cagents:navigate` DOM event.
 *
 * The sidebar handles it (switches page) and calls `preventDefault()`; in a notebook output
 * nobody does, and the panel falls back (a new browser tab, or nothing to do).
 */

export const NAVIGATE_EVENT = 'cagents:navigate';

export interface NavigateDetail {
  /** The page: `executions`, `deployments`, `mlflow`, `chat`. */
  page: string;
  /** What to open there: an execution id, a deployment id, an MLflow URL... */
  target?: string;
}

/** True when a host took the request. */
export function navigate(from: HTMLElement, detail: NavigateDetail): boolean {
  const event = new CustomEvent<NavigateDetail>(NAVIGATE_EVENT, { detail, bubbles: true, cancelable: true });
  return !from.dispatchEvent(event);
}
