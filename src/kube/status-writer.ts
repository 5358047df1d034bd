// Status computed, written once: server-side apply on the status subresource, and
// only when something a user would notice changed. Latencies and the success
// timestamp are a heartbeat, refreshed at most once per heartbeat interval.
import { isDeepStrictEqual } from 'node:util';
import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { apiVersion, fieldManager, integrationResource } from '../api/group.ts';
import type { IntegrationStatus } from '../api/integration.ts';

export const heartbeatIntervalMs = 60 * 60_000;

function withoutVolatile(status: IntegrationStatus | undefined) {
  if (!status) return status;
  const { lastSuccessfulValidationTime: _, ...rest } = status;
  return { ...rest, deployments: rest.deployments?.map(({ latencyMs: __, ...d }) => d) };
}

export function statusNeedsWrite(
  current: IntegrationStatus | undefined,
  next: IntegrationStatus,
  now: Date,
): boolean {
  if (!isDeepStrictEqual(withoutVolatile(current), withoutVolatile(next))) return true;
  const last = current?.lastSuccessfulValidationTime
    ? Date.parse(current.lastSuccessfulValidationTime)
    : 0;
  return Boolean(next.lastSuccessfulValidationTime) && now.getTime() - last >= heartbeatIntervalMs;
}

/** The server-side apply body of a status write; the bench floor sends the same bytes. */
export function statusApplyBody(namespace: string, name: string, status: IntegrationStatus) {
  return { apiVersion, kind: integrationResource.kind, metadata: { name, namespace }, status };
}

export class StatusWriter {
  readonly #api: CustomObjectsApi;
  writes = 0;

  constructor(api: CustomObjectsApi) {
    this.#api = api;
  }

  async apply(namespace: string, name: string, status: IntegrationStatus): Promise<void> {
    this.writes++;
    await this.#api.patchNamespacedCustomObjectStatus(
      {
        group: integrationResource.group,
        version: integrationResource.version,
        plural: integrationResource.plural,
        namespace,
        name,
        fieldManager,
        force: true,
        body: statusApplyBody(namespace, name, status),
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }
}
