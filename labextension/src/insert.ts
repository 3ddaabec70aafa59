/**
 * Putting workflow YAML into the notebook: panels dispatch a bubbling `cagents:insert-cell`
 * DOM event; the labextension (listening at the document) runs the `cagents:insert-cell`
 * command, which adds a `%%cagents NAME` cell below the active cell, and calls
 * `preventDefault()`. Without the labextension nobody handles it and the panel copies the
 * cell to the clipboard instead.
 */

export const INSERT_EVENT = 'cagents:insert-cell';

export interface InsertDetail {
  yaml: string;
  /** The name after `%%cagents` (a Python identifier); empty: the flow name decides. */
  name?: string;
  /** The host calls this when the cell is in (no argument) or could not be added. */
  done?: (error?: Error) => void;
}

/** The text of the cell: `%%cagents NAME` and the YAML. */
export function cellText(detail: InsertDetail): string {
  const head = detail.name ? `%%cagents ${detail.name}` : '%%cagents';
  return `${head}\n${detail.yaml.replace(/\s+$/, '')}\n`;
}

/** Ask the host to insert the cell; what happened, in words for the panel. */
export async function requestInsert(from: HTMLElement, detail: InsertDetail): Promise<string> {
  let settle: (error?: Error) => void = () => undefined;
  const inserted = new Promise<void>((resolve, reject) => {
    settle = error => (error ? reject(error) : resolve());
  });
  const event = new CustomEvent<InsertDetail>(INSERT_EVENT, {
    detail: { ...detail, done: error => settle(error) },
    bubbles: true,
    cancelable: true,
    composed: true
  });
  if (!from.dispatchEvent(event)) {
    await inserted;
    return 'Inserted a %%cagents cell below the active cell.';
  }
  try {
    await navigator.clipboard.writeText(cellText(detail));
    return 'No notebook host here: the %%cagents cell is on the clipboard; paste it into a cell.';
  } catch {
    throw new Error('No notebook is open to insert into, and the clipboard is not available: copy the YAML by hand.');
  }
}
