/** Labels from file-name conventions (JAFFE, KDEF) and folder layouts (CK+, class folders). */
import { CKPLUS_CLASSES, JAFFE_CODES, KDEF_ANGLES, KDEF_CODES } from '../labels.js';

export interface NamedSample { subject: string; label: number; pose?: string }

/** JAFFE `KA.AN1.39.tiff`: poser KA, expression AN (take 1), image number 39. */
export function parseJaffeName(name: string): NamedSample | undefined {
  const match = /^([A-Z]{2})\.([A-Z]{2})(\d+)\.(\d+)\.tiff?$/i.exec(name);
  if (!match) return undefined;
  const label = JAFFE_CODES[match[2]!.toUpperCase()];
  return label === undefined ? undefined : { subject: match[1]!.toUpperCase(), label };
}
export const JAFFE_NAME_HINT = 'names like KA.AN1.39.tiff (poser.EXPRESSION+take.number) with AN DI FE HA SA SU NE';

/** KDEF `AF01ANS.JPG`: session A, female 01, angry, straight (S = front; HL/HR half, FL/FR full profile). */
export function parseKdefName(name: string): NamedSample | undefined {
  const match = /^([AB])([FM])(\d{2})(AF|AN|DI|HA|NE|SA|SU)(FL|FR|HL|HR|S)\.jpe?g$/i.exec(name);
  if (!match) return undefined;
  return { subject: `${match[2]!.toUpperCase()}${match[3]}`, label: KDEF_CODES[match[4]!.toUpperCase()]!, pose: KDEF_ANGLES[match[5]!.toUpperCase()]! };
}
export const KDEF_NAME_HINT = 'names like AF01ANS.JPG (session A/B, F/M, id, AF AN DI HA NE SA SU, angle FL HL S HR FR)';

/** CK+ `_emotion.txt`: one float like "   3.0000000e+00" naming a class 0..7. */
export function parseCkplusEmotion(text: string): number | undefined {
  const value = Number(text.trim());
  return Number.isInteger(value) && value >= 0 && value < CKPLUS_CLASSES.length ? value : undefined;
}
