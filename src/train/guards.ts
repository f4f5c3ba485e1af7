// Guards a training loop needs: a loss that stops being a number ends the run with advice, not
// with a model full of NaN.
export class NonFiniteLossError extends Error {
  constructor(what: string, value: number, where: string) {
    super(
      `${what} became ${value} at ${where}. The last checkpoint is intact. Usual causes: a learning rate ` +
        `too high for this batch size (lower --lr), inputs not normalised, or a corrupt image in the batch.`,
    );
    this.name = 'NonFiniteLossError';
  }
}

export function assertFinite(value: number, what: string, where: string): number {
  if (!Number.isFinite(value)) throw new NonFiniteLossError(what, value, where);
  return value;
}
