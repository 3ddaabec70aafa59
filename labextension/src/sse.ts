/**
 * Following an execution's Server-Sent Events (`executions/{id}/events`) with EventSource.
 *
 * The stream carries the engine's events for runs this server drives, or `state`/`execution`
 * snapshots polled from the database for runs elsewhere; both end with `end`. EventSource
 * sends the login cookie (same origin) and reconnects by itself with `Last-Event-ID`.
 * `postEvents` reads a POST's answer streamed the same way (the chat's turns).
 */

import { ApiError, errorFrom, xsrfToken } from './api';

/** Every event name the server sends; EventSource only delivers names it listens for. */
export const EVENT_TYPES = [
  'execution_accepted',
  'execution_started',
  'node_started',
  'node_finished',
  'node_failed',
  'node_retrying',
  'token_streamed',
  'tool_called',
  'checkpoint_written',
  'execution_waiting',
  'execution_finished',
  'state',
  'execution',
  'end'
] as const;

export type StreamEvent = { type: string } & Record<string, unknown>;

export interface StreamHandlers {
  /** Each event, parsed; `type` is the SSE event name. */
  event(event: StreamEvent): void;
  /** The run stopped (`end`); the stream is closed. */
  end(status: string): void;
  /** The stream cannot be (re)established; `retrying` says whether the browser keeps trying. */
  problem(message: string, retrying: boolean): void;
  /** The connection is (again) open. */
  open?(): void;
}

/** Follow one stream until `end` or until the returned function is called. */
export function follow(url: string, handlers: StreamHandlers): () => void {
  const source = new EventSource(url, { withCredentials: true });
  let closed = false;
  const close = (): void => {
    closed = true;
    source.close();
  };
  const parse = (name: string, raw: string): StreamEvent | null => {
    try {
      const data = JSON.parse(raw) as Record<string, unknown>;
      return { ...data, type: name };
    } catch {
      return null;
    }
  };
  for (const name of EVENT_TYPES) {
    source.addEventListener(name, message => {
      const event = parse(name, (message as MessageEvent<string>).data);
      if (!event || closed) {
        return;
      }
      if (name === 'end') {
        close();
        handlers.end(typeof event.status === 'string' ? event.status : 'unknown');
        return;
      }
      handlers.event(event);
    });
  }
  source.addEventListener('open', () => handlers.open?.());
  source.addEventListener('error', message => {
    if (closed) {
      return;
    }
    // The server's own `event: error` carries JSON; a connection failure carries nothing.
    const data = message instanceof MessageEvent && typeof message.data === 'string' ? message.data : '';
    if (data) {
      const parsed = parse('error', data);
      const text = typeof parsed?.message === 'string' ? parsed.message : 'the event stream reported an error';
      close();
      handlers.problem(text, false);
      return;
    }
    if (source.readyState === EventSource.CLOSED) {
      closed = true;
      handlers.problem('Live updates stopped: the server refused the event stream.', false);
    } else {
      handlers.problem('Live updates interrupted; reconnecting…', true);
    }
  });
  return close;
}

/** What `postEvents` reports: each event as it arrives (`type` is the SSE event name). */
export type EventHandler = (event: StreamEvent) => void;

/**
 * POST a JSON body and read the answer as Server-Sent Events (EventSource can only GET):
 * same origin, the XSRF header, each `event:`/`data:` block parsed as JSON. Resolves when
 * the server closes the stream; a refused request rejects with the server's own message.
 */
export async function postEvents(url: string, body: unknown, onEvent: EventHandler, signal?: AbortSignal): Promise<void> {
  const headers: Record<string, string> = { Accept: 'text/event-stream', 'Content-Type': 'application/json' };
  const xsrf = xsrfToken();
  if (xsrf) {
    headers['X-XSRFToken'] = xsrf;
  }
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin', cache: 'no-store', signal });
  } catch (error) {
    if (signal?.aborted) {
      throw error;
    }
    throw new ApiError(`Cannot reach the Jupyter server (${String(error)}). Is it still running?`, 0);
  }
  if (!response.ok) {
    throw errorFrom(response, await response.text().catch(() => ''));
  }
  if (!response.body) {
    throw new ApiError('The server sent no event stream.', response.status);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const dispatch = (block: string): void => {
    let name = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) {
        name = line.slice(6).trim();
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
      }
    }
    if (!data.length) {
      return;
    }
    try {
      const parsed = JSON.parse(data.join('\n')) as Record<string, unknown>;
      onEvent({ ...parsed, type: name });
    } catch {
      onEvent({ type: name, text: data.join('\n') });
    }
  };
  for (;;) {
    let chunk: ReadableStreamReadResult<string>;
    try {
      chunk = await reader.read();
    } catch (error) {
      if (signal?.aborted) {
        throw error;
      }
      throw new ApiError(`The connection to the Jupyter server broke (${String(error)}).`, 0);
    }
    if (chunk.done) {
      break;
    }
    buffer += chunk.value.replace(/\r\n?/g, '\n');
    let at: number;
    while ((at = buffer.indexOf('\n\n')) >= 0) {
      dispatch(buffer.slice(0, at));
      buffer = buffer.slice(at + 2);
    }
  }
  if (buffer.trim()) {
    dispatch(buffer);
  }
}
