import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { POSES, type Pose } from '../../src/data/labels.js';
import { splitRows, type SplitRow } from '../../src/data/splits.js';
import { Random } from '../../src/data/random.js';

/** An index with F²ED's exact sizes: 219,719 rows, the paper's pose counts, 119 subjects, 54 expressions. */
function f2edRows(): SplitRow[] {
  const counts: Record<Pose, number> = { HL: 47_053, HR: 49_152, F: 74_985, BV: 48_529 };
  const random = new Random(7);
  const rows: SplitRow[] = [];
  for (const pose of POSES) {
    for (let k = 0; k < counts[pose]; k++) rows.push({ subject: `p${random.int(119)}`, pose, expression: random.int(54) });
  }
  // Make sure every subject and expression occurs.
  for (let s = 0; s < 119; s++) rows[s]!.subject = `p${s}`;
  for (let e = 0; e < 54; e++) rows[200 + e]!.expression = e;
  return rows;
}

const rows = f2edRows();
const test = suite('splits on an F²ED-sized index');

test('the index has F²ED\'s sizes', () => {
  assert.is(rows.length, 219_719);
  assert.is(new Set(rows.map((r) => r.subject)).size, 119);
  assert.is(new Set(rows.map((r) => r.expression)).size, 54);
});

function assertPartition(parts: SplitRow[][]) {
  const seen = new Set<SplitRow>();
  for (const part of parts) for (const row of part) { assert.not.ok(seen.has(row), 'a row is in two splits'); seen.add(row); }
  assert.is(seen.size, rows.length, 'every row is in exactly one split');
}

test('ER-SS: exactly 175,000 / 19,719 / 25,000, disjoint, seeded', () => {
  const a = splitRows(rows, 'er-ss', 1);
  assert.is(a.train.length, 175_000); assert.is(a.val.length, 19_719); assert.is(a.test.length, 25_000);
  assertPartition([a.train, a.val, a.test]);
  const again = splitRows(rows, 'er-ss', 1), other = splitRows(rows, 'er-ss', 2);
  assert.ok(again.test.every((row, k) => row === a.test[k]), 'same seed, same split');
  assert.ok(other.test.some((row, k) => row !== a.test[k]), 'another seed, another split');
});

test('ER-UE: 11 rare expressions, ⌊90%⌋ of each to test, everything else to train', () => {
  const split = splitRows(rows, 'er-ue', 3);
  assert.is(split.rareExpressions!.length, 11);
  assert.is(split.val.length, 0);
  assertPartition([split.train, split.test]);
  const rare = new Set(split.rareExpressions);
  assert.ok(split.test.every((row) => rare.has(row.expression)), 'only rare expressions in test');
  for (const expression of split.rareExpressions!) {
    const total = rows.filter((row) => row.expression === expression).length;
    assert.is(split.test.filter((row) => row.expression === expression).length, Math.floor(0.9 * total));
  }
  assert.is(new Set(split.train.map((row) => row.expression)).size, 54, 'train keeps all 54 expressions');
});

test('ER-UP: 177,372 / 42,347, test is half-left only', () => {
  const split = splitRows(rows, 'er-up', 4);
  assert.is(split.train.length, 177_372); assert.is(split.test.length, 42_347);
  assert.ok(split.test.every((row) => row.pose === 'HL'));
  assert.is(split.train.filter((row) => row.pose === 'HL').length, 47_053 - 42_347);
  assertPartition([split.train, split.test]);
});

test('ER-ZID: 21 unseen test subjects, disjoint from train', () => {
  const split = splitRows(rows, 'er-zid', 5);
  assert.is(split.testSubjects!.length, 21);
  const trainSubjects = new Set(split.train.map((row) => row.subject));
  const testSubjects = new Set(split.test.map((row) => row.subject));
  assert.is(testSubjects.size, 21); assert.is(trainSubjects.size, 98);
  for (const subject of testSubjects) assert.not.ok(trainSubjects.has(subject));
  assertPartition([split.train, split.test]);
  assert.not.equal(splitRows(rows, 'er-zid', 6).testSubjects, split.testSubjects);
});

test('small indexes split in the same proportions', () => {
  const small = rows.slice(0, 1000);
  const ss = splitRows(small, 'er-ss', 0);
  assert.is(ss.test.length, Math.round((1000 * 25_000) / 219_719));
  assert.is(ss.val.length, Math.round((1000 * 19_719) / 219_719));
  assert.throws(() => splitRows(small, 'er-xx' as never, 0), /unknown task/);
});



test('small sets still get a zero-shot subject and a rare class (at least one, never all)', () => {
  const small = [0, 1].flatMap((s) => [0, 1, 2].map((e) => ({ subject: `s${s}`, pose: 'F' as const, expression: e })));
  const zid = splitRows(small, 'er-zid', 1);
  assert.is(zid.testSubjects!.length, 1);
  assert.ok(zid.train.length > 0 && zid.test.length > 0);
  const ue = splitRows(small, 'er-ue', 1);
  assert.is(ue.rareExpressions!.length, 1);
  const one = splitRows(small.filter((r) => r.subject === 's0'), 'er-zid', 1);
  assert.is(one.testSubjects!.length, 0, 'a single subject cannot be held out');
});

test.run();
