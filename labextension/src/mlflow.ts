/**
 * Opening an execution's trace in the MLflow UI that `GET info` points at.
 *
 * MLflow's trace links need the experiment id; the panel looks it up by name through the UI's
 * own REST API (same origin when the workbench serves MLflow, `mlflow.mode == "embedded"`).
 */

import { Api } from './api';

interface MlflowInfo {
  enabled?: boolean;
  mode?: string;
  ui_url?: string | null;
}

let infoPromise: Promise<MlflowInfo | null> | null = null;

/** The `mlflow` part of `GET info`, fetched once per page. */
export function mlflowInfo(api: Api): Promise<MlflowInfo | null> {
  infoPromise ??= api
    .get<{ mlflow?: MlflowInfo }>('info')
    .then(info => info.mlflow ?? null)
    .catch(() => {
      infoPromise = null;
      return null;
    });
  return infoPromise;
}

function absolute(url: string): string {
  return new URL(url, document.baseURI).toString();
}

/** The trace's URL in the MLflow UI, or the UI's root when the experiment cannot be found. */
export async function traceUrl(api: Api, experiment: string, traceId: string): Promise<string> {
  const info = await mlflowInfo(api);
  if (!info?.ui_url) {
    throw new Error('MLflow has no UI address here: set MLFLOW_TRACKING_URI or install the mlflow extra');
  }
  const root = absolute(info.ui_url.endsWith('/') ? info.ui_url : `${info.ui_url}/`);
  if (info.mode !== 'embedded') {
    return root;
  }
  try {
    const lookup = `${root}ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(experiment)}`;
    const response = await fetch(lookup, { credentials: 'same-origin' });
    const data = (await response.json()) as { experiment?: { experiment_id?: string } };
    const id = data.experiment?.experiment_id;
    if (!id) {
      return root;
    }
    return `${root}#/experiments/${encodeURIComponent(id)}/traces?selectedEvaluationId=${encodeURIComponent(traceId)}`;
  } catch {
    return root;
  }
}

/**
 * Open the trace in a new tab. The tab is opened at once (a popup blocker allows only that),
 * then sent to the trace when the lookup answers.
 */
export async function openTrace(api: Api, experiment: string, traceId: string): Promise<void> {
  const tab = window.open('about:blank', '_blank');
  try {
    const url = await traceUrl(api, experiment, traceId);
    if (tab) {
      tab.opener = null;
      tab.location.href = url;
    } else {
      window.open(url, '_blank', 'noopener');
    }
  } catch (error) {
    tab?.close();
    throw error;
  }
}
