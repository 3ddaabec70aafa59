/**
 * The model a panel reads: the part of anywidget's model interface the panels use, and the
 * small in-browser implementation the sidebar hosts panels with (no kernel involved).
 */

/** What a panel needs of its model; anywidget's `AnyModel` satisfies it in notebook outputs. */
export interface PanelModel<T extends object> {
  get<K extends keyof T & string>(name: K): T[K];
  set<K extends keyof T & string>(name: K, value: T[K]): void;
  on(event: string, callback: () => void): void;
  off(event?: string | null, callback?: (() => void) | null): void;
  save_changes(): void;
}

/** anywidget's `render` argument, typed for one panel. */
export interface RenderProps<T extends object> {
  model: PanelModel<T>;
  el: HTMLElement;
}

/** A panel module's default export; `render` may return a cleanup function. */
export interface PanelModule<T extends object> {
  render(props: RenderProps<T>): void | (() => void) | Promise<void | (() => void)>;
}

/**
 * A model held in the page: `set` fires `change:NAME` listeners like a widget model does, and
 * `save_changes` is a no-op because there is no kernel to sync with.
 */
export class HostModel<T extends object> implements PanelModel<T> {
  private readonly values: T;
  private readonly listeners = new Map<string, Set<() => void>>();

  constructor(initial: T) {
    this.values = { ...initial };
  }

  get<K extends keyof T & string>(name: K): T[K] {
    return this.values[name];
  }

  set<K extends keyof T & string>(name: K, value: T[K]): void {
    if (Object.is(this.values[name], value)) {
      return;
    }
    this.values[name] = value;
    for (const callback of [...(this.listeners.get(`change:${name}`) ?? [])]) {
      callback();
    }
  }

  on(event: string, callback: () => void): void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(callback);
  }

  off(event?: string | null, callback?: (() => void) | null): void {
    if (!event) {
      this.listeners.clear();
      return;
    }
    if (!callback) {
      this.listeners.delete(event);
      return;
    }
    this.listeners.get(event)?.delete(callback);
  }

  save_changes(): void {
    // Nothing to sync: the sidebar's state lives in the page.
  }
}
