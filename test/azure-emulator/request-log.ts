// What the emulator saw: one entry per request, recorded before the response
// is written so a client that got its answer always finds the entry. Token,
// secret and assertion values are never recorded; only whether one was sent.

export type Service = 'entra' | 'openai' | 'arm' | 'admin' | 'unknown';

export type RequestLogEntry = {
  time: string;
  host: string;
  method: string;
  // Path without the query string.
  path: string;
  service: Service;
  tenantId?: string;
  clientId?: string;
  grantType?: string;
  scope?: string;
  resource?: string;
  deployment?: string;
  // Tokens a data-plane call spent (prompt + completion); absent when none were.
  tokens?: number;
  bearerTokenPresent: boolean;
  // null when no response was sent (hang, reset).
  status: number | null;
  // 'ok', an error code ('AADSTS700016', 'PermissionDenied', ...) or 'fault:<kind>'.
  outcome: string;
  // Set when a fault shaped this request, including latency before a normal answer.
  fault?: 'latency' | 'hang' | 'status' | 'reset';
};

export type RequestFilter = Partial<
  Pick<
    RequestLogEntry,
    | 'host'
    | 'method'
    | 'path'
    | 'service'
    | 'tenantId'
    | 'clientId'
    | 'grantType'
    | 'resource'
    | 'deployment'
    | 'bearerTokenPresent'
    | 'status'
    | 'outcome'
    | 'fault'
  >
>;

export type RequestLog = {
  record(entry: RequestLogEntry): void;
  list(filter?: RequestFilter): RequestLogEntry[];
  clear(): void;
};

export function createRequestLog(): RequestLog {
  let entries: RequestLogEntry[] = [];
  return {
    record(entry) {
      entries.push(entry);
    },
    list(filter = {}) {
      const wanted = Object.entries(filter).filter(([, value]) => value !== undefined);
      return entries
        .filter((entry) =>
          wanted.every(([key, value]) => entry[key as keyof RequestLogEntry] === value),
        )
        .map((entry) => ({ ...entry }));
    },
    clear() {
      entries = [];
    },
  };
}
