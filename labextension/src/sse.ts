/**
 * Following an execution's Server-Sent Events (`executions/{id}/events`) with EventSource.
 *
 * The stream carries the engine's events for runs this server drives, or `state`/`execution`
 * snapshots polled from the database for runs elsewhere; both end with `end`. EventSource
 * sends the login cookie (same origin) and reconnects by itself with `Last-Event-ID`.
 */

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
