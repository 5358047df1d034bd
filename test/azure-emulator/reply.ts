// The answer a service gives: status, headers, body and the outcome the
// request log records. Services return replies; only the server writes them.

export type Reply = {
  status: number;
  headers?: Record<string, string>;
  // A string is sent as is (text/plain unless headers say otherwise); anything else as JSON.
  body?: unknown;
  outcome: string;
};

export function jsonReply(
  status: number,
  body: unknown,
  outcome: string,
  headers: Record<string, string> = {},
): Reply {
  return { status, body, outcome, headers };
}

// The parsed request a service sees.
export type ServiceRequest = {
  method: string;
  host: string;
  url: URL;
  // Lower-cased header names.
  headers: Record<string, string | undefined>;
  body: Buffer;
  // The bearer token, if an Authorization: Bearer header carried a non-empty one.
  bearerToken: string | undefined;
};

// Lets a service add what it learned about the request to the log entry.
export type LogNote = (fields: {
  tenantId?: string;
  clientId?: string;
  grantType?: string;
  scope?: string;
  resource?: string;
  deployment?: string;
  tokens?: number;
}) => void;
