// Operator settings, read once from the environment and validated.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration } from './api/duration.ts';
import type { LabelSelector } from './api/service-principal.ts';
import { parseConnectTo } from './azure/connect-to.ts';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      try {
        return parseDuration(v);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

export const configSchema = z.object({
  /** The namespace the operator runs in: the only one it reads credential Secrets from. */
  OPERATOR_NAMESPACE: z.string().min(1),
  /** Platform egress IPs, named in firewall remediation messages. */
  PLATFORM_EGRESS_IPS: list,
  /** curl-style --connect-to rules for Azure hosts (tests and the demo); TLS still verifies the real host name. */
  AZURE_CONNECT_TO: z.string().default(''),
  /** Extra CA certificates (PEM file) trusted for Azure hosts, besides the system roots. */
  AZURE_EXTRA_CA_FILE: z.string().optional(),
  AZURE_REQUEST_TIMEOUT: duration('10s'),
  /** Lower bound on spec.probe.interval, so no integration can make the operator hammer Azure. */
  MIN_PROBE_INTERVAL: duration('30s'),
  /** Consecutive transient failures before Ready turns False. */
  TRANSIENT_FAILURE_THRESHOLD: z.coerce.number().int().min(1).default(3),
  /** First retry delay after a transient failure; doubles per failure, capped by the probe interval. */
  TRANSIENT_RETRY_BASE: duration('2s'),
  CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Overall limit on retries after reconcile errors (per second, and burst), across all keys. */
  RETRY_RATE_LIMIT: z.coerce.number().positive().default(10),
  RETRY_BURST: z.coerce.number().int().min(1).default(100),
  /** Consecutive transient Azure failures of one tenant that pause its calls. */
  TENANT_CIRCUIT_THRESHOLD: z.coerce.number().int().min(1).default(5),
  /** The first pause; it doubles at every failed trial, up to TENANT_CIRCUIT_MAX_OPEN. */
  TENANT_CIRCUIT_OPEN: duration('30s'),
  TENANT_CIRCUIT_MAX_OPEN: duration('5m'),
  /** An informer with no event and no reconnect for this long is relisted (a silent stall). */
  INFORMER_STALE_AFTER: duration('5m'),
  METRICS_ADDRESS: z.string().default('0.0.0.0:8080'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** The leader-election identity; the Deployment sets the pod name. */
  POD_NAME: z.string().default(`azure-openai-operator-${process.pid}`),
  /** Leader election on a Lease in OPERATOR_NAMESPACE, with client-go's default timings. */
  LEADER_ELECTION: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  LEASE_DURATION: duration('15s'),
  RENEW_DEADLINE: duration('10s'),
  RETRY_PERIOD: duration('2s'),
  /** Shards the work: only integrations in namespaces with these labels (k=v,k2=v2) are reconciled. */
  WATCH_NAMESPACE_SELECTOR: z.string().default(''),
});

export type OperatorConfig = z.output<typeof configSchema> & {
  connectTo: ReturnType<typeof parseConnectTo>;
  extraCaPem: string[];
  watchNamespaceSelector: LabelSelector | undefined;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid operator configuration: ${problems}`);
  }
  const config = parsed.data;
  return {
    ...config,
    connectTo: config.AZURE_CONNECT_TO ? parseConnectTo(config.AZURE_CONNECT_TO) : [],
    extraCaPem: config.AZURE_EXTRA_CA_FILE
      ? [readFileSync(config.AZURE_EXTRA_CA_FILE, 'utf8')]
      : [],
    watchNamespaceSelector: parseEqualitySelector(config.WATCH_NAMESPACE_SELECTOR),
  };
}

function parseEqualitySelector(text: string): LabelSelector | undefined {
  if (!text.trim()) return undefined;
  const matchLabels: Record<string, string> = {};
  for (const part of text.split(',')) {
    const [key, value, ...rest] = part.trim().split('=');
    if (!key || value === undefined || rest.length > 0) {
      throw new Error(
        `Invalid operator configuration: WATCH_NAMESPACE_SELECTOR: ${JSON.stringify(part)} is not key=value`,
      );
    }
    matchLabels[key] = value;
  }
  return { matchLabels };
}
