// Sizes as people read them in the commands' output (the runtime's binding errors give exact bytes instead).

/** 1.5 MiB, 12.3 KiB. */
export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
