// AzureServicePrincipal: the platform's identity, cluster-scoped, owned by the platform.
import { z } from 'zod';

const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID');
const secretKeyRef = (defaultKey: string) =>
  z.object({ name: z.string().min(1), key: z.string().default(defaultKey) });

const labelSelector = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
export type LabelSelector = z.infer<typeof labelSelector>;

export const servicePrincipalSpecSchema = z.object({
  clientId: guid.transform((c) => c.toLowerCase()),
  cloud: z
    .enum(['AzurePublicCloud', 'AzureUSGovernment', 'AzureChinaCloud'])
    .default('AzurePublicCloud'),
  default: z.boolean().default(false),
  credential: z.union([
    z.object({
      workloadIdentity: z.object({
        tokenFilePath: z.string().default('/var/run/secrets/azure/tokens/azure-identity-token'),
      }),
    }),
    z.object({
      certificate: z.object({
        secretRef: secretKeyRef('certificate.pem'),
        sendCertificateChain: z.boolean().default(false),
      }),
    }),
    z.object({ clientSecret: z.object({ secretRef: secretKeyRef('clientSecret') }) }),
  ]),
  allowedNamespaces: labelSelector,
  allowedTenants: z.array(guid.transform((t) => t.toLowerCase())).optional(),
});

export type ServicePrincipalSpec = z.output<typeof servicePrincipalSpecSchema>;

export interface ServicePrincipal {
  metadata: { name: string; uid: string; generation: number; resourceVersion?: string };
  spec: unknown;
}

export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const value = labels[key];
    const ok =
      operator === 'In'
        ? has && values.includes(value as string)
        : operator === 'NotIn'
          ? !has || !values.includes(value as string)
          : operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}
