/** The shapes the Deployments panel reads: its model's traits and the REST API's answers. */

import type { EnvRequirement } from '../../envarea';

export interface DeploymentsTraits {
  /** The Jupyter server's base URL; empty: the page's own. */
  base_url: string;
  /** A deployment to point out (scrolled to and highlighted); empty: none. */
  deployment_id: string;
}

export interface Deployment {
  deployment_id: string;
  deployment_name: string;
  workflow_name: string;
  host: string;
  port: number;
  ttl_seconds: number;
  last_heartbeat: string | null;
  registered_at: string | null;
  is_alive: boolean;
  heartbeat_age_seconds: number | null;
  capabilities: Record<string, unknown> | null;
  deployment_metadata: Record<string, unknown> | null;
}

export interface DeploymentList {
  items: Deployment[];
  summary: { total: number; healthy: number; dead: number };
}

/** A JSON Schema object, as far as the forms read it. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  title?: string;
  default?: unknown;
  enum?: unknown[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  anyOf?: JsonSchema[];
}

/** A deployment's `GET /schema`, passed through by `deployments/{id}/schema`. */
export interface ServiceSchema {
  workflow?: string;
  description?: string | null;
  input_schema?: JsonSchema;
  output_schema?: JsonSchema;
  env?: EnvRequirement[];
}
