// Reads the claims of an Entra ID access token to prove it is for the right
// tenant and audience before it is sent anywhere. The signature is the
// resource's business; these checks are the operator's.
import { ValidationFailure } from '../api/reasons.ts';
import type { Cloud } from './clouds.ts';

export interface TokenClaims {
  tid: string;
  oid: string;
  aud: string;
  appid?: string;
  exp: number;
}

export function readClaims(accessToken: string): TokenClaims {
  const payload = accessToken.split('.')[1];
  if (!payload)
    throw new ValidationFailure(
      'AuthenticationFailed',
      'Entra ID returned a token that is not a JWT',
    );
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    throw new ValidationFailure(
      'AuthenticationFailed',
      'Entra ID returned a token whose claims cannot be read',
    );
  }
}

export function checkClaims(
  claims: TokenClaims,
  expected: { tenantId: string; cloud: Cloud; now: number },
): void {
  if (claims.tid?.toLowerCase() !== expected.tenantId) {
    throw new ValidationFailure(
      'TenantMismatch',
      `The token was issued by tenant ${claims.tid}, not ${expected.tenantId}: the authority did not honour the requested tenant`,
    );
  }
  const audience = expected.cloud.dataPlaneAudience;
  if (claims.aud?.replace(/\/$/, '') !== audience) {
    throw new ValidationFailure(
      'TokenRejected',
      `The token's audience is ${claims.aud}, not ${audience}`,
    );
  }
  if (!(claims.exp * 1000 > expected.now)) {
    throw new ValidationFailure(
      'TokenRejected',
      'Entra ID returned an expired token: check the platform clock',
    );
  }
}
