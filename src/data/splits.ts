/**
 * The four F²ED tasks (paper Sec. 4.1) as pure, seeded functions over rows. The paper's two
 * slips are corrected by its own totals: ER-UE's test set is 40,730 (not 140,730) and ER-ZID
 * holds out 21 subjects for test (not 98). Rows keep their input order inside each split.
 */
import { DataError, preview } from './errors.js';
import { Random } from './random.js';
import type { Pose } from './labels.js';

export const TASKS = ['er-ss', 'er-ue', 'er-up', 'er-zid'] as const;
export type Task = (typeof TASKS)[number];

/** What a split needs to know about a row. */
export interface SplitRow { subject: string; pose: Pose; expression: number }

export interface SplitResult<T> {
  task: Task;
  train: T[];
  val: T[]; // empty except for ER-SS
  test: T[];
  /** ER-UE: the rare expression ids. */
  rareExpressions?: number[];
  /** ER-ZID: the held-out subjects. */
  testSubjects?: string[];
}

/** F²ED's ER-SS sizes; other index sizes are split in the same proportions. */
export const ER_SS_SIZES = { train: 175_000, val: 19_719, test: 25_000 } as const;
const F2ED_TOTAL = ER_SS_SIZES.train + ER_SS_SIZES.val + ER_SS_SIZES.test; // 219,719
export const RARE_EXPRESSION_FRACTION = 0.2; // ER-UE: 20% of the expressions are rare
export const RARE_TEST_FRACTION = 0.9; // ER-UE / ER-UP: 90% of the rare part goes to test
export const RARE_POSE: Pose = 'HL'; // ER-UP: the half-left pose is rare
export const ZERO_SHOT_SUBJECT_FRACTION = 21 / 119; // ER-ZID: 21 of F²ED's 119 subjects

export function splitRows<T extends SplitRow>(rows: readonly T[], task: Task, seed: number): SplitResult<T> {
  const result = splitByTask(rows, task, seed);
  const placed = result.train.length + result.val.length + result.test.length;
  if (placed !== rows.length) throw new Error(`splitRows(${task}): ${rows.length} rows in, ${placed} placed; a split must place every row exactly once`);
  assertDisjointParts([['train', result.train], ['val', result.val], ['test', result.test]], (row) => row);
  return result;
}

function splitByTask<T extends SplitRow>(rows: readonly T[], task: Task, seed: number): SplitResult<T> {
  switch (task) {
    case 'er-ss': return splitStandard(rows, seed);
    case 'er-ue': return splitUnbalancedExpressions(rows, seed);
    case 'er-up': return splitUnbalancedPoses(rows, seed);
    case 'er-zid': return splitZeroShotIdentities(rows, seed);
    default: throw new DataError('unknown task', { expected: TASKS.join(', '), got: JSON.stringify(task) });
  }
}

/**
 * Throws when one item (by `key`: the row itself, or an image path) sits in two parts, naming
 * it and both places: an image in train and test would make test accuracy a memory test.
 */
export function assertDisjointParts<T>(
  parts: readonly (readonly [string, readonly T[]])[], key: (item: T) => unknown,
  where: (item: T, part: string) => string = (_, part) => part,
): void {
  const home = new Map<unknown, { part: string; item: T }>();
  for (const [part, items] of parts) {
    for (const item of items) {
      const id = key(item);
      const earlier = home.get(id);
      if (earlier) {
        throw new DataError(`${typeof id === 'string' ? preview(id, 120) : 'a row'} is in ${earlier.part === part ? `${part} twice` : `both ${earlier.part} and ${part}`}`, {
          expected: 'each image in exactly one split', got: `${where(earlier.item, earlier.part)} and ${where(item, part)}`,
          hint: 'remove it from one of them (or split again with `webfer split`)',
        });
      }
      home.set(id, { part, item });
    }
  }
}

/** ER-SS: random train/val/test in the proportions 175,000 / 19,719 / 25,000. */
export function splitStandard<T extends SplitRow>(rows: readonly T[], seed: number): SplitResult<T> {
  const total = rows.length;
  const testSize = Math.round((total * ER_SS_SIZES.test) / F2ED_TOTAL);
  const valSize = Math.round((total * ER_SS_SIZES.val) / F2ED_TOTAL);
  const order = new Random(seed).permutation(total);
  const assignment = new Uint8Array(total); // 0 train, 1 val, 2 test
  for (let k = 0; k < testSize; k++) assignment[order[k]!] = 2;
  for (let k = testSize; k < testSize + valSize; k++) assignment[order[k]!] = 1;
  return { task: 'er-ss', ...gather(rows, assignment) };
}

/**
 * ER-UE: round(20% of the expressions) are rare; ⌊90%⌋ of each rare expression's images go to
 * test, the rest of everything to train.
 */
export function splitUnbalancedExpressions<T extends SplitRow>(rows: readonly T[], seed: number): SplitResult<T> {
  const random = new Random(seed);
  const expressions = [...new Set(rows.map((row) => row.expression))].sort((a, b) => a - b);
  // At least one rare class (and never all) when there are two or more, as for ER-ZID's subjects.
  const rounded = Math.round(RARE_EXPRESSION_FRACTION * expressions.length);
  const rareCount = expressions.length < 2 ? 0 : Math.min(expressions.length - 1, Math.max(1, rounded));
  const rareExpressions = random.shuffle(expressions.slice()).slice(0, rareCount).sort((a, b) => a - b);
  const assignment = new Uint8Array(rows.length);
  for (const expression of rareExpressions) {
    sendFractionToTest(rows, (row) => row.expression === expression, assignment, random);
  }
  return { task: 'er-ue', ...gather(rows, assignment), rareExpressions };
}

/** ER-UP: ⌊90%⌋ of the half-left images go to test, everything else to train. */
export function splitUnbalancedPoses<T extends SplitRow>(rows: readonly T[], seed: number): SplitResult<T> {
  const assignment = new Uint8Array(rows.length);
  sendFractionToTest(rows, (row) => row.pose === RARE_POSE, assignment, new Random(seed));
  return { task: 'er-up', ...gather(rows, assignment) };
}

/**
 * ER-ZID: round(21/119 of the subjects) are held out entirely for test — at least one (and never
 * all) when there are two or more, so that small synthetic sets still get a zero-shot test set.
 */
export function splitZeroShotIdentities<T extends SplitRow>(rows: readonly T[], seed: number): SplitResult<T> {
  const subjects = [...new Set(rows.map((row) => row.subject))].sort(compareSubjects);
  const rounded = Math.round(ZERO_SHOT_SUBJECT_FRACTION * subjects.length);
  const testCount = subjects.length < 2 ? 0 : Math.min(subjects.length - 1, Math.max(1, rounded));
  const testSubjects = new Random(seed).shuffle(subjects.slice()).slice(0, testCount).sort(compareSubjects);
  const held = new Set(testSubjects);
  const assignment = new Uint8Array(rows.length);
  rows.forEach((row, index) => { if (held.has(row.subject)) assignment[index] = 2; });
  return { task: 'er-zid', ...gather(rows, assignment), testSubjects };
}

function sendFractionToTest<T>(rows: readonly T[], selected: (row: T) => boolean, assignment: Uint8Array, random: Random): void {
  const members: number[] = [];
  rows.forEach((row, index) => { if (selected(row)) members.push(index); });
  const testSize = Math.floor(RARE_TEST_FRACTION * members.length);
  random.shuffle(members);
  for (let k = 0; k < testSize; k++) assignment[members[k]!] = 2;
}

function gather<T>(rows: readonly T[], assignment: Uint8Array): { train: T[]; val: T[]; test: T[] } {
  const train: T[] = [], val: T[] = [], test: T[] = [];
  rows.forEach((row, index) => { (assignment[index] === 0 ? train : assignment[index] === 1 ? val : test).push(row); });
  return { train, val, test };
}

/** Numeric-aware order so subject "10" follows "9". */
function compareSubjects(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
