// The little JWT the emulator needs: compact JWS with RS256 or PS256, on node:crypto.
import { constants, type KeyObject, sign, verify } from 'node:crypto';

export type JwtAlgorithm = 'RS256' | 'PS256';
export type JwtHeader = { alg: string; typ?: string; kid?: string; [name: string]: unknown };
export type JwtClaims = { [name: string]: unknown };
export type Jwk = { kty: string; kid?: string; [name: string]: unknown };
export type DecodedJwt = {
  header: JwtHeader;
  claims: JwtClaims;
  signingInput: string;
  signature: Buffer;
};

export function signJwt(
  header: Omit<JwtHeader, 'alg'> & { alg: JwtAlgorithm },
  claims: JwtClaims,
  privateKey: KeyObject,
): string {
  const signingInput = `${encodeSegment({ typ: 'JWT', ...header })}.${encodeSegment(claims)}`;
  const signature = sign('sha256', Buffer.from(signingInput), paddingFor(header.alg, privateKey));
  return `${signingInput}.${signature.toString('base64url')}`;
}

// Parses without trusting: the caller verifies the signature before using claims.
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = parseSegment(headerPart);
  const claims = parseSegment(claimsPart);
  if (header === undefined || claims === undefined || typeof header.alg !== 'string') {
    return undefined;
  }
  return {
    header: header as JwtHeader,
    claims,
    signingInput: `${headerPart}.${claimsPart}`,
    signature: Buffer.from(signaturePart, 'base64url'),
  };
}

export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const alg = jwt.header.alg;
  if (alg !== 'RS256' && alg !== 'PS256') return false;
  try {
    return verify(
      'sha256',
      Buffer.from(jwt.signingInput),
      paddingFor(alg, publicKey, constants.RSA_PSS_SALTLEN_AUTO),
      jwt.signature,
    );
  } catch {
    return false;
  }
}

function paddingFor(
  alg: JwtAlgorithm,
  key: KeyObject,
  saltLength: number = constants.RSA_PSS_SALTLEN_DIGEST,
) {
  return alg === 'PS256'
    ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }
    : { key, padding: constants.RSA_PKCS1_PADDING };
}

function encodeSegment(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function parseSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

// The public half of an RSA key as a JWK, tagged for signature verification.
export function publicJwk(publicKey: KeyObject, kid: string): Jwk {
  return { ...publicKey.export({ format: 'jwk' }), kty: 'RSA', kid, use: 'sig', alg: 'RS256' };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
