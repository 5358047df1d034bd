// Which platform identity an integration may use. This is the confused-deputy
// gate: a namespace cannot make the operator sign in with an identity, for a
// tenant or in a cloud that the identity's owner did not allow.
import type { IntegrationSpec } from '../api/integration.ts';
import { ValidationFailure } from '../api/reasons.ts';
import {
  matchesSelector,
  type ServicePrincipal,
  type ServicePrincipalSpec,
  servicePrincipalSpecSchema,
} from '../api/service-principal.ts';

export interface IdentityLookup {
  servicePrincipal(name: string): ServicePrincipal | undefined;
  servicePrincipals(): readonly ServicePrincipal[];
  namespaceLabels(namespace: string): Record<string, string> | undefined;
}

export interface ResolvedIdentity {
  name: string;
  uid: string;
  spec: ServicePrincipalSpec;
}

export function resolveIdentity(
  namespace: string,
  spec: IntegrationSpec,
  lookup: IdentityLookup,
): ResolvedIdentity {
  const chosen = choose(spec, lookup);
  const parsed = servicePrincipalSpecSchema.safeParse(chosen.spec);
  if (!parsed.success) {
    throw new ValidationFailure(
      'ServicePrincipalNotFound',
      `AzureServicePrincipal ${chosen.metadata.name} is invalid (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}): the platform team must fix it`,
    );
  }
  const identity = parsed.data;
  const name = chosen.metadata.name;
  const labels = lookup.namespaceLabels(namespace) ?? {};
  if (!matchesSelector(identity.allowedNamespaces, labels)) {
    throw new ValidationFailure(
      'ServicePrincipalNotAllowed',
      `Namespace ${namespace} may not use AzureServicePrincipal ${name}: its spec.allowedNamespaces does not select this namespace; the platform team must label the namespace or widen the selector`,
    );
  }
  if (identity.allowedTenants && !identity.allowedTenants.includes(spec.tenantId)) {
    throw new ValidationFailure(
      'TenantNotAllowed',
      `AzureServicePrincipal ${name} may not be used for tenant ${spec.tenantId}: the platform team must add it to spec.allowedTenants`,
    );
  }
  if (identity.cloud !== spec.endpoint.cloud.name) {
    throw new ValidationFailure(
      'CloudMismatch',
      `AzureServicePrincipal ${name} is registered in ${identity.cloud} but the endpoint ${spec.endpoint.host} is in ${spec.endpoint.cloud.name}: use an identity of that cloud`,
    );
  }
  return { name, uid: chosen.metadata.uid, spec: identity };
}

function choose(spec: IntegrationSpec, lookup: IdentityLookup): ServicePrincipal {
  if (spec.servicePrincipalRef) {
    const found = lookup.servicePrincipal(spec.servicePrincipalRef.name);
    if (!found) {
      throw new ValidationFailure(
        'ServicePrincipalNotFound',
        `AzureServicePrincipal ${spec.servicePrincipalRef.name} does not exist: fix spec.servicePrincipalRef or ask the platform team to create it`,
      );
    }
    return found;
  }
  const defaults = lookup
    .servicePrincipals()
    .filter((sp) => (sp.spec as { default?: unknown })?.default === true);
  const [only, ...others] = defaults;
  if (!only) {
    throw new ValidationFailure(
      'ServicePrincipalNotFound',
      'No AzureServicePrincipal is marked default: set spec.servicePrincipalRef, or the platform team must mark one default',
    );
  }
  if (others.length > 0) {
    throw new ValidationFailure(
      'ServicePrincipalNotFound',
      `Several AzureServicePrincipals are marked default (${defaults.map((d) => d.metadata.name).join(', ')}): set spec.servicePrincipalRef`,
    );
  }
  return only;
}
