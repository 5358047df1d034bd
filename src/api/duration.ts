// Go-style durations (e.g. 500ms, 90s, 5m, 1h30m); the CRD admits s, m and h only.
const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: use e.g. 30s, 5m or 1h30m`);
  }
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * unitMs[unit as keyof typeof unitMs], 0);
}
