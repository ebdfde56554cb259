/** Raised for any model file the scorer cannot read exactly: unknown format, corruption, or unsupported content. */
export class ModelFormatError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelFormatError';
  }
}
