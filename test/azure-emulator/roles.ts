// Which built-in role names grant what, as far as the emulator checks. A
// data-plane role does not grant ARM read unless it is also listed there.

export const dataActionRoles: readonly string[] = [
  'Cognitive Services OpenAI User',
  'Cognitive Services OpenAI Contributor',
  'Cognitive Services User',
];

export const armReadRoles: readonly string[] = [
  'Reader',
  'Contributor',
  'Owner',
  'Cognitive Services Contributor',
  'Cognitive Services OpenAI Contributor',
];

type RoleAssignment = { principalId: string; roleName: string };

export function hasDataAction(assignments: RoleAssignment[], principalId: string): boolean {
  return assignments.some(
    (a) => a.principalId === principalId && dataActionRoles.includes(a.roleName),
  );
}

export function hasArmRead(assignments: RoleAssignment[], principalId: string): boolean {
  return assignments.some(
    (a) => a.principalId === principalId && armReadRoles.includes(a.roleName),
  );
}
