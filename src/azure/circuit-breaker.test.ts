import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationFailure } from '../api/reasons.ts';
import { CircuitBreaker } from './circuit-breaker.ts';

const timeout = new ValidationFailure(
  'Timeout',
  'login.microsoftonline.com did not answer in time',
);

function breaker() {
  let now = 0;
  const b = new CircuitBreaker({
    failureThreshold: 3,
    openMs: 10_000,
    maxOpenMs: 25_000,
    trialTimeoutMs: 5_000,
    now: () => now,
  });
  return { b, advance: (ms: number) => (now += ms) };
}

test('a tenant is paused after the threshold of transient failures, and others are not', () => {
  const { b } = breaker();
  for (let i = 0; i < 2; i++) b.failed('tenant-a', 'TokenIssued', timeout);
  assert.equal(b.admit('tenant-a'), undefined, 'below the threshold calls still go out');
  b.failed('tenant-a', 'TokenIssued', timeout);
  const paused = b.admit('tenant-a');
  assert.equal(paused?.link, 'TokenIssued');
  assert.equal(paused?.failure.reason, 'Timeout');
  assert.equal(paused?.failure.transient, true);
  assert.equal(paused?.failure.retryAfterMs, 10_000);
  assert.match(
    paused?.failure.message ?? '',
    /did not answer in time; calls to tenant-a are paused for 10 s after 3 consecutive failures/,
  );
  assert.equal(b.admit('tenant-b'), undefined);
  assert.equal(b.open, 1);
});

test('after the cool-down one trial goes through; its failure doubles the pause, up to the cap', () => {
  const { b, advance } = breaker();
  for (let i = 0; i < 3; i++) b.failed('t', 'EndpointReachable', timeout);
  advance(10_000);
  assert.equal(b.admit('t'), undefined, 'the trial');
  assert.ok(b.admit('t'), 'only one trial at a time');
  b.failed('t', 'EndpointReachable', timeout);
  assert.equal(b.admit('t')?.failure.retryAfterMs, 20_000);
  advance(20_000);
  assert.equal(b.admit('t'), undefined);
  b.failed('t', 'EndpointReachable', timeout);
  assert.equal(b.admit('t')?.failure.retryAfterMs, 25_000, 'capped');
  assert.equal(b.openings, 3);
});

test('a success closes the circuit; a trial that never reports lets another through', () => {
  const { b, advance } = breaker();
  for (let i = 0; i < 3; i++) b.failed('t', 'TokenIssued', timeout);
  advance(10_000);
  assert.equal(b.admit('t'), undefined);
  advance(5_000);
  assert.equal(b.admit('t'), undefined, 'the first trial timed out');
  b.succeeded('t');
  assert.equal(b.admit('t'), undefined);
  assert.equal(b.open, 0);
  b.failed('t', 'TokenIssued', timeout);
  assert.equal(b.admit('t'), undefined, 'the count starts again from zero');
});

test('a trial abandoned by its run lets the next call be the trial at once', () => {
  const { b, advance } = breaker();
  for (let i = 0; i < 3; i++) b.failed('t', 'EndpointReachable', timeout);
  advance(10_000);
  assert.equal(b.inTrial('t'), false);
  assert.equal(b.admit('t'), undefined, 'the trial');
  assert.equal(b.inTrial('t'), true);
  b.abandonTrial('t');
  assert.equal(b.admit('t'), undefined, 'the next call is the trial, without waiting 5 s');
  assert.ok(b.admit('t'), 'and only it');
});

test('a Retry-After pauses the target at once, below the threshold, for as long as it says', () => {
  const { b, advance } = breaker();
  const throttled = new ValidationFailure('Throttled', 'contoso answered 429', {
    retryAfterMs: 3_000,
  });
  b.failed('contoso', 'EndpointReachable', throttled);
  const paused = b.admit('contoso');
  assert.equal(paused?.failure.reason, 'Throttled');
  assert.equal(paused?.failure.retryAfterMs, 3_000);
  assert.match(paused?.failure.message ?? '', /paused for 3 s as its Retry-After asked/);
  advance(3_000);
  assert.equal(b.admit('contoso'), undefined, 'the trial after Retry-After');
  b.succeeded('contoso');
  assert.equal(b.admit('contoso'), undefined);
});
