// Counts every request the operator sends to Azure, by service and outcome, for
// `aoai_operator_azure_requests_total`. The outcome is the HTTP class, not the
// verdict: the InvalidRequest probe expects a 400, so it counts as client_error.
import { CounterVec } from '../metrics/registry.ts';
import { classifyNetworkError } from './errors.ts';

export type AzureService = 'entra' | 'openai' | 'arm' | 'other';
export type AzureOutcome =
  | 'ok'
  | 'client_error'
  | 'throttled'
  | 'server_error'
  | 'timeout'
  | 'network_error';

export class AzureRequestCounter {
  readonly counts = new CounterVec();

  response(service: AzureService, status: number): void {
    this.counts.inc({ service, outcome: outcomeOfStatus(status) });
  }

  /** Every request sent to one service, whatever its outcome. */
  total(service: AzureService): number {
    let sum = 0;
    for (const { labels, value } of this.counts.samples())
      if (labels.service === service) sum += value;
    return sum;
  }

  failure(service: AzureService, error: unknown): void {
    const reason = classifyNetworkError(error, '')?.reason;
    this.counts.inc({ service, outcome: reason === 'Timeout' ? 'timeout' : 'network_error' });
  }
}

export function outcomeOfStatus(status: number): AzureOutcome {
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server_error';
  if (status >= 400) return 'client_error';
  return 'ok';
}

/** The credential's and ARM's requests share one HTTP client: tell them apart by host. */
export function serviceOfHost(hostname: string): AzureService {
  if (hostname.startsWith('login.')) return 'entra';
  if (hostname.startsWith('management.')) return 'arm';
  return 'other';
}
