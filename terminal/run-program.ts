/**
 * Runs a commander program under the CLI convention (cli/README.md) and returns the exit code: commander's own
 * usage errors exit 2 like the project's, a refused policy 3, any other failure 1, each printed once.
 */
import { type Command, CommanderError } from 'commander';
import { describeError, EXIT, reportedExitCode } from './errors';
import { printError, printNote } from './print-error';

/** Routes commander's error messages through {@link printError}; call before adding subcommands. */
export function conventionalOutput(program: Command, name: string): Command {
  return program.exitOverride().configureOutput({
    outputError: (text) =>
      printError(name, {
        message: text.replace(/^error: /, '').trim(),
        hint: `see ${name} --help, or ${name} COMMAND --help`,
        exitCode: EXIT.usage,
      }),
  });
}

/**
 * Parses and runs `argv`; resolves to the exit code. Process warnings (e.g. the AWS SDK's notice about Node
 * versions) are printed as notes under the same convention instead of Node's own unstructured lines.
 */
export async function runProgram(program: Command, argv: readonly string[], name: string): Promise<number> {
  // A reader that stops early (`mlp predict … | head`) has what it wanted: stop quietly, not with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') printError(name, { message: `cannot write the output: ${error.message}`, exitCode: 1 });
    process.exit(error.code === 'EPIPE' ? EXIT.done : EXIT.failed);
  });
  process.removeAllListeners('warning');
  process.on('warning', (warning) =>
    printNote(
      `${name}: warning: ${warning.name}: ${warning.message.replace(/\s+/g, ' ').trim()}`,
      {},
      process.stderr,
      'WARN',
    ),
  );
  try {
    await program.parseAsync([...argv]);
    return EXIT.done;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.done : EXIT.usage;
    const reported = reportedExitCode(error);
    if (reported !== undefined) return reported;
    const described = describeError(error);
    printError(name, described);
    return described.exitCode;
  }
}
