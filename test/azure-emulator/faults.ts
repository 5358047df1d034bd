// Which injected fault, if any, shapes a request. Matching happens after
// routing and before the service logic; a fault with `remaining` is used up.
import type { Route } from './routing.ts';
import type { Fault, World } from './world.ts';

type FaultSubject = {
  service: Fault['match']['service'];
  tenantId: string | undefined;
  resource: string | undefined;
  deployment: string | undefined;
};

// Takes the first matching fault, counting it down in the (live) world.
export function takeFault(world: World, route: Route): Fault | undefined {
  const subject = faultSubject(world, route);
  if (subject === undefined) return undefined;
  const fault = world.faults.find((f) => (f.remaining ?? 1) > 0 && matches(f, subject));
  if (fault?.remaining !== undefined) fault.remaining -= 1;
  return fault;
}

function matches(fault: Fault, subject: FaultSubject): boolean {
  const { service, tenantId, resource, deployment } = fault.match;
  return (
    service === subject.service &&
    (tenantId === undefined || tenantId.toLowerCase() === subject.tenantId?.toLowerCase()) &&
    (resource === undefined || resource === subject.resource) &&
    (deployment === undefined || deployment === subject.deployment)
  );
}

function faultSubject(world: World, route: Route): FaultSubject | undefined {
  switch (route.service) {
    case 'entra':
      return {
        service: 'entra',
        tenantId: route.tenant,
        resource: undefined,
        deployment: undefined,
      };
    case 'openai':
      return {
        service: 'openai',
        resource: route.resourceName,
        deployment: route.deployment,
        tenantId: world.resources.find(
          (r) => r.name === route.resourceName && r.cloud === route.cloud.name,
        )?.tenantId,
      };
    case 'arm':
      return {
        service: 'arm',
        resource: route.target?.accountName,
        deployment: route.target?.deployment || undefined,
        tenantId: world.resources.find(
          (r) => r.name === route.target?.accountName && r.cloud === route.cloud.name,
        )?.tenantId,
      };
    default:
      return undefined;
  }
}
