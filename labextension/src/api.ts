/**
 * The workbench's REST API from the browser: same origin, Jupyter's login cookie, the XSRF
 * header on writes, and every failure turned into one readable message.
 */

/** A failed call: `message` is for the person (the server's own words when it sent JSON). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field?: string,
    readonly kind?: string,
    /** The whole JSON error (`detail`, `issues`, `fields`... when the route sends them). */
    readonly data?: Record<string, unknown>
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Query = Record<string, string | number | undefined | null>;

/** Calls taking longer than this fail with a message instead of spinning forever. */
const TIMEOUT_MS = 60_000;

/** The server's base URL: the model's, else the page's Jupyter config, else the site root. */
export function resolveBaseUrl(fromModel?: string | null): string {
  let base = (fromModel ?? '').trim();
  if (!base) {
    base = pageConfig('baseUrl') ?? '/';
  }
  return base.endsWith('/') ? base : `${base}/`;
}

/** A value of the `jupyter-config-data` block JupyterLab and Notebook 7 put in every page. */
export function pageConfig(name: string): string | undefined {
  const el = document.getElementById('jupyter-config-data');
  if (!el?.textContent) {
    return undefined;
  }
  try {
    const value = (JSON.parse(el.textContent) as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The `_xsrf` cookie Jupyter sets; tornado checks it against the `X-XSRFToken` header. */
export function xsrfToken(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === '_xsrf') {
      return decodeURIComponent(rest.join('='));
    }
  }
  return pageConfig('xsrfToken');
}

export class Api {
  /** `baseUrl` is the Jupyter server's (`/` or `/user/me/`); routes hang off `cagents/api/`. */
  constructor(readonly baseUrl: string) {}

  /** Absolute URL of an API route with its query (empty values dropped). */
  url(route: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') {
        params.set(key, String(value));
      }
    }
    const search = params.toString();
    return `${this.baseUrl}cagents/api/${route}${search ? `?${search}` : ''}`;
  }

  get<T>(route: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', this.url(route, query));
  }

  post<T>(route: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', this.url(route), body);
  }

  patch<T>(route: string, body: unknown = {}): Promise<T> {
    return this.request<T>('PATCH', this.url(route), body);
  }

  delete<T>(route: string): Promise<T> {
    return this.request<T>('DELETE', this.url(route));
  }

  private async request<T>(method: string, url: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    const xsrf = xsrfToken();
    if (xsrf && method !== 'GET') {
      headers['X-XSRFToken'] = xsrf;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
        signal: abort.signal
      });
    } catch (error) {
      const why = abort.signal.aborted ? `no answer within ${TIMEOUT_MS / 1000} s` : String(error);
      throw new ApiError(`Cannot reach the Jupyter server (${why}). Is it still running?`, 0);
    } finally {
      clearTimeout(timer);
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      throw errorFrom(response, text);
    }
    if (!text) {
      return {} as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(`The server sent something that is not JSON for ${method} ${url}`, response.status);
    }
  }
}

/** The message of an error reply: the JSON error's own message, else the HTTP status. */
export function errorFrom(response: Response, text: string): ApiError {
  let data: Record<string, unknown> | undefined;
  try {
    data = JSON.parse(text) as Record<string, unknown>;
  } catch {
    data = undefined;
  }
  const status = response.status;
  const message = typeof data?.message === 'string' && data.message ? data.message : undefined;
  if (message) {
    const field = typeof data?.field === 'string' ? data.field : undefined;
    const kind = typeof data?.error === 'string' ? data.error : undefined;
    return new ApiError(message, status, field, kind, data);
  }
  if (status === 403) {
    return new ApiError('Not allowed (403): the Jupyter login may have expired; reload the page and log in again.', status);
  }
  if (status === 404) {
    return new ApiError('Not found (404): is the cagents server extension enabled in this Jupyter server?', status);
  }
  return new ApiError(`The server answered ${status} ${response.statusText || ''}`.trim(), status);
}

/** A message for anything thrown while loading, for a panel's error state. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    return error.message;
  }
  if (error instanceof Error) {
    return `Something went wrong in the panel: ${error.message}`;
  }
  return `Something went wrong in the panel: ${String(error)}`;
}
