// A stand-in for a Kubernetes service account issuer (or any OIDC workload
// identity issuer): it signs the tokens WorkloadIdentityCredential reads from
// its token file, and publishes the JWKS a federated credential trusts.
import { generateKeyPair, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { type Jwk, nowSeconds, publicJwk, signJwt } from './jwt.ts';

export type FederatedTokenOptions = {
  subject?: string;
  audience?: string;
  issuer?: string;
  lifetimeSeconds?: number;
  // Shifts iat/nbf/exp; negative values give an already expired token.
  offsetSeconds?: number;
};

export type FederatedIssuer = {
  issuer: string;
  subject: string;
  audience: string;
  jwks: { keys: Jwk[] };
  issueToken(options?: FederatedTokenOptions): string;
};

export async function createFederatedIssuer(
  defaults: { issuer?: string; subject?: string; audience?: string } = {},
): Promise<FederatedIssuer> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
  });
  const kid = randomUUID();
  const issuer = defaults.issuer ?? 'https://oidc.platform.example/cluster';
  const subject = defaults.subject ?? 'system:serviceaccount:azure-openai-operator:controller';
  const audience = defaults.audience ?? 'api://AzureADTokenExchange';
  return {
    issuer,
    subject,
    audience,
    jwks: { keys: [publicJwk(publicKey, kid)] },
    issueToken(options = {}) {
      const iat = nowSeconds() + (options.offsetSeconds ?? 0);
      return signJwt(
        { alg: 'RS256', kid },
        {
          iss: options.issuer ?? issuer,
          sub: options.subject ?? subject,
          aud: [options.audience ?? audience],
          iat,
          nbf: iat,
          exp: iat + (options.lifetimeSeconds ?? 3600),
          'kubernetes.io': {
            namespace: 'azure-openai-operator',
            serviceaccount: { name: 'controller' },
          },
        },
        privateKey,
      );
    },
  };
}
