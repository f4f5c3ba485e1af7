// The paper's numbers the demo is set beside (accuracy %, LightCNN-9 at 128 px on the real data).
import type { Task } from '../../data/splits.js';

/** Table 5: Fa-Net and FaPE-GAN + Fa-Net on the four F²ED tasks. */
export const PAPER_RESULTS: Record<Task, { fanet: number; fapeganFanet: number }> = {
  'er-ss': { fanet: 72.7, fapeganFanet: 73.6 },
  'er-ue': { fanet: 27.3, fapeganFanet: 30.8 },
  'er-up': { fanet: 36.3, fapeganFanet: 39.9 },
  'er-zid': { fanet: 6.7, fapeganFanet: 7.1 },
};

/** Table 4: Fa-Net from scratch and pre-trained on F²ED, on FER2013 and JAFFE. */
export const PAPER_TRANSFER_RESULTS = {
  fer2013: { scratch: 62.3, pretrained: 71.1 },
  jaffe: { scratch: 82.9, pretrained: 95.7 },
} as const;
export type TransferSet = keyof typeof PAPER_TRANSFER_RESULTS;
export const TRANSFER_SETS: TransferSet[] = ['fer2013', 'jaffe'];
export const TRANSFER_SET_NAMES: Record<TransferSet, string> = { fer2013: 'FER2013', jaffe: 'JAFFE' };
