// Guards a training loop needs: a loss that stops being a number ends the run with advice, not
// with a model full of NaN — and says truthfully whether a checkpoint exists to go back to.

/** The newest checkpoint a run has on disk: null when none was written yet, undefined when the trainer saves none. */
export type LastCheckpoint = { epoch: number; step: number } | null | undefined;

export class NonFiniteLossError extends Error {
  constructor(what: string, value: number | string, where: string, lastCheckpoint?: LastCheckpoint) {
    super(
      `${what} became ${value} at ${where}.${describeCheckpoint(lastCheckpoint)} Usual causes: a learning rate too high ` +
        `for this batch size (lower --lr), inputs not normalised, or a corrupt image in the batch.`,
    );
    this.name = 'NonFiniteLossError';
  }
}

function describeCheckpoint(last: LastCheckpoint): string {
  if (last === undefined) return '';
  if (last === null) return ' No checkpoint was written yet.';
  return ` The last checkpoint (epoch ${last.epoch} done, step ${last.step}) is intact.`;
}

/** Thrown by captureCheckpoint: a state holding NaN / inf is never written over a good checkpoint. */
export class NonFiniteStateError extends Error {
  constructor(readonly tensor: string, readonly count: number, readonly size: number) {
    super(`${tensor} holds ${count} NaN or infinite value(s) of ${size}`);
    this.name = 'NonFiniteStateError';
  }
}

/**
 * Saves through `save`, turning a NonFiniteStateError into the run's divergence error: a step can
 * leave the weights NaN while its own loss (computed before the update) was finite, and the
 * checkpoint written then would have replaced the last good one.
 */
export async function saveUnlessDiverged(save: () => Promise<void>, where: string, lastCheckpoint: LastCheckpoint): Promise<void> {
  try {
    await save();
  } catch (error) {
    if (!(error instanceof NonFiniteStateError)) throw error;
    throw new NonFiniteLossError('the training state', `NaN or infinite (${error.message}; not saved)`, where, lastCheckpoint);
  }
}

export function assertFinite(value: number, what: string, where: string, lastCheckpoint?: LastCheckpoint): number {
  if (!Number.isFinite(value)) throw new NonFiniteLossError(what, value, where, lastCheckpoint);
  return value;
}
