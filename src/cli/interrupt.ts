// Ctrl-C during training: the first asks the run to stop after its current step and save a
// checkpoint; a second quits at once. A stopped run exits 130 (128 + SIGINT), as an interrupted
// command does, so `train && eval` does not go on with a half-trained model.

export const INTERRUPTED_EXIT_CODE = 130;

export interface StopRequest {
  /** Whether Ctrl-C was pressed (polled after every step). */
  readonly requested: () => boolean;
  /** Removes the handler. */
  release(): void;
}

export function stopOnCtrlC(): StopRequest {
  let requested = false;
  const onSigint = () => {
    if (requested) process.exit(INTERRUPTED_EXIT_CODE);
    requested = true;
    console.error('\nstopping after this step and saving a checkpoint (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);
  return { requested: () => requested, release: () => process.off('SIGINT', onSigint) };
}
