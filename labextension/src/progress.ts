/** Long work in a panel: a spinner, what is happening, and the seconds it has taken so far. */

import { h } from './dom';

/** A status line that counts seconds until it leaves the page. */
export function working(text: string): HTMLElement {
  const clock = h('span', { class: 'cag-elapsed' }, '');
  const el = h('div', { class: 'cag-state cag-loading cag-working', attrs: { role: 'status' } }, h('span', { class: 'cag-spinner' }), text, clock);
  const started = Date.now();
  const timer = window.setInterval(() => {
    if (!el.isConnected && Date.now() - started > 1000) {
      window.clearInterval(timer);
      return;
    }
    clock.textContent = ` ${Math.floor((Date.now() - started) / 1000)} s`;
  }, 1000);
  return el;
}
