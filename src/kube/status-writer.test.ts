import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IntegrationStatus } from '../api/integration.ts';
import { heartbeatIntervalMs, statusNeedsWrite } from './status-writer.ts';

const base: IntegrationStatus = {
  observedGeneration: 1,
  deployments: [{ name: 'a', ready: true, latencyMs: 80 }],
  lastSuccessfulValidationTime: '2026-12-03T12:00:00.000Z',
};
const at = (ms: number) => new Date(Date.parse('2026-12-03T12:00:00.000Z') + ms);

test('latency and the success time alone do not cause a write until the heartbeat is due', () => {
  const next = {
    ...base,
    deployments: [{ name: 'a', ready: true, latencyMs: 95 }],
    lastSuccessfulValidationTime: at(60_000).toISOString(),
  };
  assert.equal(statusNeedsWrite(base, next, at(60_000)), false);
  assert.equal(statusNeedsWrite(base, next, at(heartbeatIntervalMs)), true);
});

test('any other change is written at once', () => {
  assert.equal(statusNeedsWrite(base, { ...base, observedGeneration: 2 }, at(1)), true);
  assert.equal(statusNeedsWrite(undefined, base, at(1)), true);
});
