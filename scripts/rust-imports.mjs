// What the layer checks (server-layers.mjs, sdk-layers.mjs) read of Rust sources: the files below a folder, their
// text without comments (doc links among them are not imports), and the paths they name below `crate::` or
// `super::`, each with where it stands.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every `.rs` file below `dir`. */
export function rustFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return rustFiles(path);
    return name.endsWith('.rs') ? [path] : [];
  });
}

/** The source of `file` with comments blanked out (their length kept, so offsets still give lines). */
export const withoutComments = (file) =>
  readFileSync(file, 'utf8').replace(/\/\/.*$/gm, (comment) => ' '.repeat(comment.length));

/** The line of offset `at` in `text`. */
export const lineAt = (text, at) => text.slice(0, at).split('\n').length;

/** Each path `text` names below `root::` (`crate` or `super`), as `[offset, first segment, second segment]`;
 * a group `root::{a::b, c}` names each of its items. */
export function named(text, root) {
  const found = [];
  for (const match of text.matchAll(new RegExp(`${root}::(\\w+)(?:::(\\w+))?`, 'g'))) {
    found.push([match.index, match[1], match[2]]);
  }
  for (const match of text.matchAll(new RegExp(`${root}::\\{([^}]*)\\}`, 'g'))) {
    for (const item of match[1].split(',')) {
      const [first, second] = item.trim().split('::');
      found.push([match.index, first, second]);
    }
  }
  return found;
}
