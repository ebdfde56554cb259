/**
 * One Lambda execution environment of the wire-level AWS (aws-world.ts), as a child process: it loads the
 * function's handler module once (MLP_ENTRY, MLP_HANDLER) with the environment the function was given, and
 * answers each invocation sent over IPC with the handler's result or its error (`errorType`, `errorMessage`),
 * as the Node.js runtime reports them. Whatever the handler prints (Powertools logs and EMF) goes to stdout.
 */
import { resolve } from 'node:path';

interface Invocation {
  readonly id: number;
  readonly event: unknown;
  readonly context: Record<string, unknown>;
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const module = require(resolve(process.env.MLP_ENTRY!)) as Record<string, Handler>;
const handler = module[process.env.MLP_HANDLER!];
if (typeof handler !== 'function') throw new Error(`${process.env.MLP_ENTRY} exports no ${process.env.MLP_HANDLER}`);

process.on('message', (message: Invocation) => {
  const deadline = Date.now() + Number(process.env.MLP_TIMEOUT_MS ?? 60_000);
  const context = { ...message.context, getRemainingTimeInMillis: () => deadline - Date.now() };
  handler(message.event, context).then(
    (result) => process.send!({ id: message.id, result: result ?? null }),
    (error: Error) =>
      process.send!({
        id: message.id,
        error: { errorType: error?.name ?? 'Error', errorMessage: error?.message ?? String(error) },
      }),
  );
});
process.send!({ ready: true });
