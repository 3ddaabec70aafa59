/** How the panels write times, durations, money and counts; all pure functions. */

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 min ago", "3 hr ago", "Yesterday", "4 days ago", then the date. */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) {
    return '—';
  }
  const then = Date.parse(iso);
  if (Number.isNaN(then)) {
    return iso;
  }
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 0) {
    return 'in the future';
  }
  if (seconds < 45) {
    return 'just now';
  }
  if (seconds < HOUR) {
    return `${Math.max(1, Math.round(seconds / MINUTE))} min ago`;
  }
  if (seconds < DAY) {
    return `${Math.round(seconds / HOUR)} hr ago`;
  }
  const startOfToday = new Date(now);
  startOfToday.setHours(0, 0, 0, 0);
  const days = Math.ceil((startOfToday.getTime() - then) / (DAY * 1000));
  if (days <= 1) {
    return 'Yesterday';
  }
  if (days < 7) {
    return `${days} days ago`;
  }
  return new Date(then).toLocaleDateString();
}

/** Local date and time, to the second ("2026-02-13 10:30:45"). */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** "850 ms", "12.3 s", "1m 20s", "2h 05m". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) {
    return '—';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  }
  if (seconds < HOUR) {
    const m = Math.floor(seconds / 60);
    return `${m}m ${String(Math.round(seconds - m * 60)).padStart(2, '0')}s`;
  }
  const hr = Math.floor(seconds / HOUR);
  return `${hr}h ${String(Math.floor((seconds - hr * HOUR) / 60)).padStart(2, '0')}m`;
}

/** Dollars: 4 decimals under a dollar (LLM calls are cheap), 2 above. */
export function cost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || Number.isNaN(usd)) {
    return '—';
  }
  if (usd === 0) {
    return '$0';
  }
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** A count with thousands separators. */
export function count(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) {
    return '—';
  }
  return n.toLocaleString();
}

/** A percentage of a 0..1 share. */
export function percent(share: number | null | undefined): string {
  if (share === null || share === undefined || Number.isNaN(share)) {
    return '';
  }
  return `${Math.round(share * 100)}%`;
}

/** A JSON value as one readable line or block. */
export function jsonText(value: unknown, indent = 2): string {
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  try {
    return JSON.stringify(value, null, indent) ?? String(value);
  } catch {
    return String(value);
  }
}
