/**
 * Paths written in an index CSV, checked as text so the rule holds in Node and in browsers alike:
 * an index may only name files inside its dataset's folder (DESIGN "CLI (contract)"), so that an
 * index from elsewhere cannot read `../../etc/passwd` or `/home/you/.ssh/id_rsa`. Symbolic links
 * inside the folder are followed: datasets are often assembled from links into a shared store.
 */

/** True for `/x`, `\x`, `C:\x`, `C:/x` and `\\server\share`: paths that ignore the index's folder. */
export function isAbsoluteIndexPath(path: string): boolean {
  return /^[/\\]/.test(path) || /^[A-Za-z]:[/\\]/.test(path);
}

/**
 * Collapses `.`, `..` and repeated separators of a relative path, keeping leading `..`
 * (`a/./b/../c` → `a/c`, `a/../../x` → `../x`). Backslashes count as separators, as Windows
 * reads them, so `a\..\..\x` cannot slip past the check on either system.
 */
export function normalizeIndexPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split(/[/\\]+/)) {
    if (part === '' || part === '.') continue;
    if (part === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/') || '.';
}

/**
 * Whether `path` (relative to the index's folder) names something inside `folder` (also relative
 * to the index's folder; '.' is the index's own folder).
 */
export function isInsideFolder(path: string, folder = '.'): boolean {
  if (isAbsoluteIndexPath(path)) return false;
  const segments = (text: string) => { const normal = normalizeIndexPath(text); return normal === '.' ? [] : normal.split('/'); };
  const target = segments(path), root = segments(folder);
  // Normalised paths hold '..' only at their start, so inside means: root's segments, then a
  // name that does not climb back out.
  return target.length > root.length && root.every((part, k) => target[k] === part) && target[root.length] !== '..';
}

/**
 * Python's string order (by code point, case-sensitive), which torchvision's ImageFolder sorts
 * class names and file names by. JavaScript's `<` compares UTF-16 code units, which puts a
 * character beyond U+FFFF (an emoji) before U+E000..U+FFFF (fullwidth letters); localeCompare
 * ignores case and reads digits as numbers ('img2' before 'img10', which Python puts after).
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 unit's place in code-point order: surrogates (characters beyond U+FFFF) after U+FFFF. */
function codePointRank(unit: number): number {
  return unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
