// The condition types and the reason vocabulary: a stable, documented contract
// (docs/reasons.md). Users alert on these strings, so they only ever grow.

export const conditionTypes = {
  ready: 'Ready',
  reconciling: 'Reconciling',
  stalled: 'Stalled',
  tokenIssued: 'TokenIssued',
  endpointReachable: 'EndpointReachable',
  deploymentsReady: 'DeploymentsReady',
  published: 'Published',
} as const;

/** The links of the trust chain, in the order they are proven. */
export const chainLinks = [
  conditionTypes.tokenIssued,
  conditionTypes.endpointReachable,
  conditionTypes.deploymentsReady,
  conditionTypes.published,
] as const;
export type ChainLink = (typeof chainLinks)[number];

export const successReasons = {
  [conditionTypes.tokenIssued]: 'TokenIssued',
  [conditionTypes.endpointReachable]: 'EndpointReachable',
  [conditionTypes.deploymentsReady]: 'DeploymentsReady',
  [conditionTypes.published]: 'Published',
  [conditionTypes.ready]: 'Ready',
} as const;

/**
 * Failure reasons. `transient` ones are retried with backoff and damped: they do not
 * flip Ready on the first miss and never withdraw a publication.
 */
export const failureReasons = {
  // The spec or the platform's identity configuration.
  InvalidSpec: { transient: false },
  EndpointNotAllowed: { transient: false },
  ServicePrincipalNotFound: { transient: false },
  ServicePrincipalNotAllowed: { transient: false },
  TenantNotAllowed: { transient: false },
  CloudMismatch: { transient: false },
  CredentialNotFound: { transient: false },
  // Entra ID (token issuance).
  TenantNotFound: { transient: false },
  ConsentMissing: { transient: false },
  InvalidClientSecret: { transient: false },
  ClientSecretExpired: { transient: false },
  InvalidCertificate: { transient: false },
  FederatedCredentialMismatch: { transient: false },
  ConditionalAccessBlocked: { transient: false },
  TenantMismatch: { transient: false },
  TokenRejected: { transient: false },
  AuthenticationFailed: { transient: false },
  // The endpoint and its deployments.
  FirewallDenied: { transient: false },
  ApiVersionUnsupported: { transient: false },
  RoleMissing: { transient: false },
  DeploymentNotFound: { transient: false },
  DeploymentNotUsable: { transient: false },
  DNSFailure: { transient: false },
  TLSFailure: { transient: false },
  // Weather: retried, damped, publication kept.
  Throttled: { transient: true },
  Timeout: { transient: true },
  ServiceUnavailable: { transient: true },
  ConnectionFailed: { transient: true },
  // Publication.
  ConfigMapConflict: { transient: false },
  NoDeploymentReady: { transient: false },
  PublishFailed: { transient: true },
} as const satisfies Record<string, { transient: boolean }>;

export type FailureReason = keyof typeof failureReasons;

/** A link of the chain that could not be proven: its reason, a message saying what to do, and how to retry. */
export class ValidationFailure extends Error {
  override name = 'ValidationFailure';
  readonly reason: FailureReason;
  readonly transient: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(
    reason: FailureReason,
    message: string,
    options: { retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.reason = reason;
    this.transient = failureReasons[reason].transient;
    this.retryAfterMs = options.retryAfterMs;
  }
}
