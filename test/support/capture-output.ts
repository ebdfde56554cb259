/** Captures what code writes to stdout and stderr (structured logs, EMF) while it runs. */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ result: T; output: string }> {
  const chunks: string[] = [];
  const record = (chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(record);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(record);
  try {
    return { result: await fn(), output: chunks.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
