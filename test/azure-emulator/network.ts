// Azure OpenAI network rules as the caller meets them: a private endpoint
// bypasses everything; otherwise public access must be enabled and, with
// defaultAction Deny, the caller's egress IP must match an IP rule.
import { BlockList, isIPv4 } from 'node:net';
import type { Resource, World } from './world.ts';

export type NetworkVerdict = 'allowed' | 'publicAccessDisabled' | 'ipNotAllowed';

export function checkNetworkAccess(resource: Resource, caller: World['caller']): NetworkVerdict {
  if (caller.privateEndpointAccess.includes(resource.name)) return 'allowed';
  const network = resource.network;
  if (network.publicNetworkAccess === 'Disabled') return 'publicAccessDisabled';
  if (network.defaultAction === 'Allow') return 'allowed';
  return ipRulesAllow(network.ipRules, caller.egressIp) ? 'allowed' : 'ipNotAllowed';
}

function ipRulesAllow(rules: string[], ip: string): boolean {
  const family = isIPv4(ip) ? 'ipv4' : 'ipv6';
  const allowed = new BlockList();
  for (const rule of rules) {
    const [address = rule, prefix] = rule.split('/');
    const ruleFamily = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) allowed.addAddress(address, ruleFamily);
    else allowed.addSubnet(address, Number(prefix), ruleFamily);
  }
  return allowed.check(ip, family);
}
