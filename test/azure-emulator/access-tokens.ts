// The emulator's token authority: signs the access tokens Entra issues and
// verifies them where the data plane and ARM receive them.
import { createHash, generateKeyPair, type KeyObject, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import {
  type DecodedJwt,
  decodeJwt,
  type Jwk,
  type JwtClaims,
  nowSeconds,
  publicJwk,
  signJwt,
  verifyJwtSignature,
} from './jwt.ts';

// Azure resource providers accept tokens within five minutes of their validity window.
const clockSkewSeconds = 300;

export type AccessTokenClaims = {
  aud: string;
  iss: string;
  tid: string;
  oid: string;
  sub: string;
  appid: string;
  idtyp: string;
  iat: number;
  nbf: number;
  exp: number;
  [name: string]: unknown;
};

export type TokenCheck =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; problem: 'malformed' | 'signature' | 'expired' | 'notYetValid' };

export type MintOptions = {
  tenantId: string;
  appId: string;
  objectId: string;
  audience: string;
  lifetimeSeconds: number;
  // Seconds to shift iat/nbf/exp by: negative values make an already expired token.
  offsetSeconds?: number;
  appIdAcr?: '1' | '2';
};

export type TokenAuthority = {
  kid: string;
  jwks: { keys: Jwk[] };
  mint(options: MintOptions): { token: string; claims: AccessTokenClaims };
  check(token: string): TokenCheck;
};

export async function createTokenAuthority(): Promise<TokenAuthority> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
  });
  const kid = keyId(publicKey);
  // A signature check of the same token with the same key always gives the same
  // answer: remember the tokens that passed, so the thousands of probes a benchmark
  // sends with one token do not each pay an RSA verification on the shared cores.
  const verifiedTokens = new Set<string>();
  const hasValidSignature = (token: string, jwt: DecodedJwt): boolean => {
    if (verifiedTokens.has(token)) return true;
    if (!verifyJwtSignature(jwt, publicKey)) return false;
    if (verifiedTokens.size >= 10_000) verifiedTokens.clear();
    verifiedTokens.add(token);
    return true;
  };

  return {
    kid,
    jwks: { keys: [{ ...publicJwk(publicKey, kid), x5t: kid }] },
    mint(options) {
      const iat = nowSeconds() + (options.offsetSeconds ?? 0);
      const claims: AccessTokenClaims = {
        aud: options.audience,
        iss: `https://sts.windows.net/${options.tenantId}/`,
        iat,
        nbf: iat,
        exp: iat + options.lifetimeSeconds,
        aio: randomUUID(),
        appid: options.appId,
        appidacr: options.appIdAcr ?? '1',
        idp: `https://sts.windows.net/${options.tenantId}/`,
        idtyp: 'app',
        oid: options.objectId,
        rh: randomUUID(),
        sub: options.objectId,
        tid: options.tenantId,
        uti: randomUUID().replaceAll('-', '').slice(0, 22),
        ver: '1.0',
      };
      return { token: signJwt({ alg: 'RS256', kid, x5t: kid }, claims, privateKey), claims };
    },
    check(token) {
      const jwt = decodeJwt(token);
      if (jwt === undefined || !isAccessTokenClaims(jwt.claims)) {
        return { ok: false, problem: 'malformed' };
      }
      if (jwt.header.kid !== kid || !hasValidSignature(token, jwt)) {
        return { ok: false, problem: 'signature' };
      }
      const now = nowSeconds();
      if (jwt.claims.exp + clockSkewSeconds <= now) return { ok: false, problem: 'expired' };
      if (jwt.claims.nbf - clockSkewSeconds > now) return { ok: false, problem: 'notYetValid' };
      return { ok: true, claims: jwt.claims };
    },
  };
}

function isAccessTokenClaims(claims: JwtClaims): claims is AccessTokenClaims {
  return (
    typeof claims.aud === 'string' &&
    typeof claims.tid === 'string' &&
    typeof claims.oid === 'string' &&
    typeof claims.appid === 'string' &&
    typeof claims.exp === 'number' &&
    typeof claims.nbf === 'number'
  );
}

function keyId(publicKey: KeyObject): string {
  return createHash('sha1')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url');
}
