import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IntegrationStatus } from '../api/integration.ts';
import { ValidationFailure } from '../api/reasons.ts';
import type { DeploymentProbe } from '../azure/data-plane.ts';
import { nextStatus, type Observation, type PublishOutcome, plan } from './evaluate.ts';

const policy = { transientFailureThreshold: 3, retryBaseMs: 1_000 };
const ready: DeploymentProbe = { ready: true, capability: 'chat', latencyMs: 10 };
const failing = (
  reason: ConstructorParameters<typeof ValidationFailure>[0],
  retryAfterMs?: number,
): DeploymentProbe => ({
  ready: false,
  failure: new ValidationFailure(
    reason,
    `${reason} happened`,
    retryAfterMs === undefined ? {} : { retryAfterMs },
  ),
  latencyMs: 10,
});

function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    generation: 2,
    now: new Date('2026-12-03T12:00:00Z'),
    cloud: 'AzurePublicCloud',
    identity: { name: 'platform', clientId: 'client', objectId: 'oid' },
    deployments: [
      { name: 'a', probe: ready },
      { name: 'b', probe: ready },
    ],
    declaredDeployments: ['a', 'b'],
    intervalMs: 300_000,
    ...overrides,
  };
}

const published: PublishOutcome = {
  state: 'published',
  publication: {
    configMapName: 'cm',
    contentHash: 'sha256:abc',
    deployments: ['a', 'b'],
    configMap: {},
  },
};

function readyStatus(): IntegrationStatus {
  return nextStatus(observation(), undefined, plan(observation(), undefined, policy), published)
    .status;
}

const conditionOf = (status: IntegrationStatus, type: string) =>
  status.conditions?.find((c) => c.type === type);

describe('plan', () => {
  const cases: Array<{
    name: string;
    observation: Observation;
    previous?: IntegrationStatus;
    publish: string;
    deployments?: string[];
  }> = [
    {
      name: 'all ready publishes all',
      observation: observation(),
      publish: 'apply',
      deployments: ['a', 'b'],
    },
    {
      name: 'a definitive deployment failure drops just that deployment',
      observation: observation({
        deployments: [
          { name: 'a', probe: ready },
          { name: 'b', probe: failing('DeploymentNotFound') },
        ],
      }),
      publish: 'apply',
      deployments: ['a'],
    },
    {
      name: 'a transient deployment failure keeps a deployment that was published',
      observation: observation({
        deployments: [
          { name: 'a', probe: ready },
          { name: 'b', probe: failing('Throttled') },
        ],
      }),
      previous: readyStatus(),
      publish: 'apply',
      deployments: ['a', 'b'],
    },
    {
      name: 'a transient deployment failure never adds a deployment that was not published',
      observation: observation({
        deployments: [
          { name: 'a', probe: ready },
          { name: 'b', probe: failing('Timeout') },
        ],
      }),
      publish: 'apply',
      deployments: ['a'],
    },
    {
      name: 'a transient chain failure keeps the publication as it is',
      observation: observation({
        deployments: [],
        chainFailure: {
          link: 'TokenIssued',
          failure: new ValidationFailure('ServiceUnavailable', 'down'),
        },
      }),
      previous: readyStatus(),
      publish: 'keep',
    },
    {
      name: 'a definitive chain failure withdraws it',
      observation: observation({
        deployments: [],
        chainFailure: {
          link: 'TokenIssued',
          failure: new ValidationFailure('ConsentMissing', 'no'),
        },
      }),
      previous: readyStatus(),
      publish: 'withdraw',
    },
    {
      name: 'nothing usable withdraws it',
      observation: observation({ deployments: [{ name: 'a', probe: failing('RoleMissing') }] }),
      publish: 'withdraw',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const decided = plan(c.observation, c.previous, policy);
      assert.equal(decided.publish.action, c.publish);
      if (decided.publish.action === 'apply')
        assert.deepEqual(
          decided.publish.deployments.map((d) => d.name),
          c.deployments,
        );
    });
  }

  test('transient failures back off exponentially, honour Retry-After, and never exceed the interval', () => {
    const throttled = observation({
      deployments: [{ name: 'a', probe: failing('Throttled', 7_000) }],
    });
    let previous: IntegrationStatus | undefined;
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      const decided = plan(throttled, previous, policy);
      delays.push(decided.requeueAfterMs);
      previous = { ...previous, failureCount: decided.failureCount };
    }
    assert.deepEqual(delays.slice(0, 5), [7_000, 7_000, 7_000, 8_000, 16_000]);
    assert.equal(delays.at(-1), 300_000);
    assert.equal(
      plan(observation(), previous, policy).requeueAfterMs,
      300_000,
      'success returns to the interval',
    );
  });
});

describe('nextStatus', () => {
  test('all links proven: Ready True, no Reconciling or Stalled, facts recorded', () => {
    const status = readyStatus();
    assert.deepEqual(
      status.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Ready', 'True', 'Ready'],
        ['TokenIssued', 'True', 'TokenIssued'],
        ['EndpointReachable', 'True', 'EndpointReachable'],
        ['DeploymentsReady', 'True', 'DeploymentsReady'],
        ['Published', 'True', 'Published'],
      ],
    );
    assert.ok(status.conditions?.every((c) => c.observedGeneration === 2));
    assert.equal(status.deploymentsReady, '2/2');
    assert.equal(status.publication?.contentHash, 'sha256:abc');
    assert.equal(status.lastSuccessfulValidationTime, '2026-12-03T12:00:00.000Z');
  });

  test('a definitive failure sets its link and Ready False, Stalled, and later links Unknown', () => {
    const failed = observation({
      deployments: [],
      chainFailure: {
        link: 'EndpointReachable',
        failure: new ValidationFailure('FirewallDenied', 'allowlist 203.0.113.10'),
      },
    });
    const { status, events } = nextStatus(
      failed,
      readyStatus(),
      plan(failed, readyStatus(), policy),
      { state: 'withdrawn' },
    );
    assert.equal(conditionOf(status, 'TokenIssued')?.status, 'True');
    assert.equal(conditionOf(status, 'EndpointReachable')?.reason, 'FirewallDenied');
    assert.equal(conditionOf(status, 'DeploymentsReady')?.status, 'Unknown');
    assert.deepEqual(
      [conditionOf(status, 'Ready')?.status, conditionOf(status, 'Ready')?.reason],
      ['False', 'FirewallDenied'],
    );
    assert.equal(conditionOf(status, 'Stalled')?.status, 'True');
    assert.equal(status.publication, undefined);
    assert.deepEqual(
      events.map((e) => [e.type, e.reason]),
      [
        ['Warning', 'FirewallDenied'],
        ['Warning', 'NoDeploymentReady'],
      ],
    );
  });

  test('a transient failure under the threshold holds every condition and reports Reconciling', () => {
    const previous = readyStatus();
    const flaky = observation({
      deployments: [],
      chainFailure: { link: 'TokenIssued', failure: new ValidationFailure('Timeout', 'slow') },
    });
    const decided = plan(flaky, previous, policy);
    const { status, events } = nextStatus(flaky, previous, decided, { state: 'kept' });
    assert.deepEqual(conditionOf(status, 'Ready'), conditionOf(previous, 'Ready'));
    assert.equal(conditionOf(status, 'Reconciling')?.reason, 'Timeout');
    assert.equal(conditionOf(status, 'Stalled'), undefined);
    assert.equal(status.publication?.contentHash, previous.publication?.contentHash);
    assert.deepEqual(events, []);
  });

  test('at the threshold a transient failure turns Ready False but is not Stalled', () => {
    const flaky = observation({
      deployments: [],
      chainFailure: { link: 'TokenIssued', failure: new ValidationFailure('Timeout', 'slow') },
    });
    const previous = { ...readyStatus(), failureCount: 2 };
    const { status } = nextStatus(flaky, previous, plan(flaky, previous, policy), {
      state: 'kept',
    });
    assert.deepEqual(
      [conditionOf(status, 'Ready')?.status, conditionOf(status, 'Ready')?.reason],
      ['False', 'Timeout'],
    );
    assert.equal(conditionOf(status, 'Stalled'), undefined);
    assert.equal(
      conditionOf(status, 'Published')?.status,
      'True',
      'the last good publication stays',
    );
  });

  test('lastTransitionTime moves only when a status changes', () => {
    const first = readyStatus();
    const later = observation({ now: new Date('2026-12-03T13:00:00Z') });
    const { status, events } = nextStatus(later, first, plan(later, first, policy), published);
    assert.equal(conditionOf(status, 'Ready')?.lastTransitionTime, '2026-12-03T12:00:00.000Z');
    assert.deepEqual(events, [], 'no Event when nothing changed');
  });
});
