// pino JSON logs. Anything that could hold a credential is redacted by path, as a
// second line of defence: the code never logs tokens or secret values.
import { pino } from 'pino';

export const redactedPaths = [
  'token',
  'accessToken',
  'access_token',
  'clientSecret',
  'client_secret',
  'secret',
  'password',
  'authorization',
  'headers.authorization',
  '*.token',
  '*.accessToken',
  '*.clientSecret',
  '*.authorization',
  'err.request.headers',
  'err.response.headers',
];

export function createLogger(level: string, destination?: pino.DestinationStream) {
  return pino(
    {
      level,
      base: { component: 'azure-openai-operator' },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type Logger = ReturnType<typeof createLogger>;
