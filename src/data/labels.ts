/** Label vocabularies: F²ED poses and expressions, and the seven-emotion sets of the public sets. */

/** F²ED poses: half left, front, half right, bird view. */
export const POSES = ['HL', 'F', 'HR', 'BV'] as const;
export type Pose = (typeof POSES)[number];

export function isPose(value: string): value is Pose {
  return (POSES as readonly string[]).includes(value);
}

/**
 * The 54 F²ED expressions in four families (the paper clusters its 54 classes into 4 groups by
 * k-means, Fig. 1b). F²ED's own list is not published beyond examples (acceptance, angry,
 * bravery, calm, disgust, envy, fear, neutral, embarrassed, pride, tension, cowardice); the rest
 * follow Plutchik-style mental states. Index = class id used in index CSVs and by the models.
 */
export const EXPRESSION_FAMILIES = [
  {
    name: 'content',
    expressions: ['neutral', 'calm', 'acceptance', 'contentment', 'pleasure', 'joy', 'delight',
      'amusement', 'pride', 'love', 'admiration', 'relief', 'hope', 'trust'],
  },
  {
    name: 'alarmed',
    expressions: ['surprise', 'amazement', 'curiosity', 'interest', 'anticipation', 'alertness',
      'tension', 'anxiety', 'fear', 'terror', 'cowardice', 'shock', 'awe'],
  },
  {
    name: 'hostile',
    expressions: ['annoyance', 'angry', 'rage', 'bravery', 'determination', 'disgust', 'loathing',
      'contempt', 'envy', 'jealousy', 'suspicion', 'aggressiveness', 'defiance', 'hostility'],
  },
  {
    name: 'low',
    expressions: ['sadness', 'grief', 'pensiveness', 'boredom', 'fatigue', 'embarrassed', 'shame',
      'guilt', 'remorse', 'disappointment', 'loneliness', 'despair', 'pain'],
  },
] as const;

export const EXPRESSIONS: readonly string[] = EXPRESSION_FAMILIES.flatMap((family) => [...family.expressions]);
export const NUM_EXPRESSIONS = 54;

/** Family index (0..3) of each expression id. */
export const EXPRESSION_FAMILY_OF: readonly number[] = EXPRESSION_FAMILIES.flatMap((family, index) =>
  family.expressions.map(() => index));

/** Parses an expression given as an integer id or a name from EXPRESSIONS; undefined if neither. */
export function parseExpression(value: string): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const id = Number(text);
    return id < NUM_EXPRESSIONS ? id : undefined;
  }
  const id = EXPRESSIONS.indexOf(text.toLowerCase());
  return id >= 0 ? id : undefined;
}

/** FER2013 `emotion` column: 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral. */
export const FER2013_CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;

/** JAFFE file codes (`KA.AN1.39.tiff`): AN DI FE HA SA SU NE, mapped to the FER2013 order. */
export const JAFFE_CODES: Record<string, number> = { AN: 0, DI: 1, FE: 2, HA: 3, SA: 4, SU: 5, NE: 6 };
export const JAFFE_CLASSES = FER2013_CLASSES;

/** KDEF expression codes (`AF01ANS.JPG`): AF afraid, AN angry, DI disgusted, HA happy, NE neutral, SA sad, SU surprised. */
export const KDEF_CODES: Record<string, number> = { AN: 0, DI: 1, AF: 2, HA: 3, SA: 4, SU: 5, NE: 6 };
export const KDEF_CLASSES = FER2013_CLASSES;
/** KDEF angle codes: FL full left, HL half left, S straight, HR half right, FR full right. */
export const KDEF_ANGLES: Record<string, string> = { FL: 'FL', HL: 'HL', S: 'F', HR: 'HR', FR: 'FR' };

/** CK+ `_emotion.txt` codes: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise. */
export const CKPLUS_CLASSES = ['neutral', 'anger', 'contempt', 'disgust', 'fear', 'happy', 'sadness', 'surprise'] as const;

export const SPLITS = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];
