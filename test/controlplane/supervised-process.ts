// Starts a server binary so that it cannot outlive the Node process that started it.
// Node has no PR_SET_PDEATHSIG, so each binary runs under a tiny sh supervisor that
// blocks reading a pipe from us: when we exit for any reason, SIGKILL included, the
// pipe closes and the supervisor terminates the binary (then kills it after a grace).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

const supervisor = `
exec 3<&0
"$@" 0</dev/null &
child=$!
(
  read -r _ <&3
  kill -TERM "$child" 2>/dev/null
  waited=0
  while [ "$waited" -lt "$GRACE_SECONDS" ] && kill -0 "$child" 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
  done
  kill -KILL "$child" 2>/dev/null
) 0</dev/null &
watcher=$!
status=0
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
kill "$watcher" 2>/dev/null
exit "$status"
`;

export interface SupervisedProcess {
  readonly name: string;
  readonly exited: Promise<number | null>;
  isRunning(): boolean;
  /** Asks the binary to stop (SIGTERM), SIGKILLs it after the grace period, waits for exit. */
  stop(): Promise<void>;
}

export function startSupervised(
  name: string,
  binary: string,
  args: string[],
  logPath: string,
  graceSeconds = 10,
): SupervisedProcess {
  const log = createWriteStream(logPath, { flags: 'a' });
  const child: ChildProcess = spawn('sh', ['-c', supervisor, name, binary, ...args], {
    // Own process group: a Ctrl-C aimed at the test runner reaches us first, and we
    // stop the servers in order rather than have them all die at once.
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GRACE_SECONDS: String(graceSeconds) },
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  // The pipe must not keep the event loop alive, or a test process would never exit.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  let running = true;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      running = false;
      log.end();
      resolve(code);
    });
  });
  return {
    name,
    exited,
    isRunning: () => running,
    async stop() {
      if (!running) return;
      // Waiting for the exit must keep the event loop alive, or a stopping process just ends.
      child.ref();
      child.stdin?.end();
      await exited;
    },
  };
}
