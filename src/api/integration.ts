// AzureOpenAIIntegration as the operator reads it: the CRD schema admits it, and
// zod re-checks what CEL cannot say (e.g. the endpoint's cloud) at the boundary.
import { z } from 'zod';
import { parseOpenAIEndpoint } from '../azure/clouds.ts';
import { parseDuration } from './duration.ts';

const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID');

export const integrationSpecSchema = z
  .object({
    tenantId: guid.transform((t) => t.toLowerCase()),
    endpoint: z.string(),
    servicePrincipalRef: z.object({ name: z.string().min(1) }).optional(),
    apiVersion: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/)
      .default('2024-10-21'),
    deployments: z.array(z.object({ name: z.string().min(1) })).min(1),
    defaultDeployment: z.string().optional(),
    probe: z
      .object({
        strategy: z.enum(['InvalidRequest', 'MinimalCompletion']).default('InvalidRequest'),
        interval: z.string().default('5m'),
      })
      .default({ strategy: 'InvalidRequest', interval: '5m' }),
    configMapName: z.string().optional(),
    suspend: z.boolean().default(false),
  })
  .transform((spec, ctx) => {
    let endpoint: ReturnType<typeof parseOpenAIEndpoint> | undefined;
    try {
      endpoint = parseOpenAIEndpoint(spec.endpoint);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: (error as Error).message });
    }
    let intervalMs = 0;
    try {
      intervalMs = parseDuration(spec.probe.interval);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        path: ['probe', 'interval'],
        message: (error as Error).message,
      });
    }
    const names = spec.deployments.map((d) => d.name);
    if (new Set(names).size !== names.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['deployments'],
        message: 'deployment names must be unique',
      });
    }
    if (spec.defaultDeployment && !names.includes(spec.defaultDeployment)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultDeployment'],
        message: 'must name one of spec.deployments',
      });
    }
    if (!endpoint) return z.NEVER;
    return { ...spec, endpoint, intervalMs };
  });

export type IntegrationSpec = z.output<typeof integrationSpecSchema>;

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface DeploymentStatus {
  name: string;
  ready: boolean;
  reason?: string;
  message?: string;
  model?: string;
  modelVersion?: string;
  latencyMs?: number;
}

export interface IntegrationStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  cloud?: string;
  servicePrincipal?: {
    name?: string;
    clientId?: string;
    objectId?: string;
    tokenExpiresAt?: string;
  };
  deployments?: DeploymentStatus[];
  deploymentsReady?: string;
  lastSuccessfulValidationTime?: string;
  failureCount?: number;
  publication?: { configMapName?: string; contentHash?: string; deployments?: string[] };
}

export interface Integration {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  spec: unknown;
  status?: IntegrationStatus;
}
