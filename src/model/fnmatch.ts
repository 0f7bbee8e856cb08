/**
 * GitHub's ruleset ref matching, as GitHub documents it: Ruby `File.fnmatch(pattern, ref,
 * File::FNM_PATHNAME)` (no `FNM_EXTGLOB`, no backslash escapes). Used to prove that every ref a
 * cloud trust accepts is one a ruleset protects, because the two languages disagree:
 *
 * - `*` and `?` never match `/`: `refs/tags/v*` does not cover `refs/tags/v9/x`, while an IAM
 *   `StringLike` `...@refs/tags/v*` (whose `*` crosses `/`) accepts it;
 * - `**` crosses `/` only as a whole path segment followed by `/` (`refs/tags/**` + `/` + `*`
 *   matches zero or more directories and then one name); `**` anywhere else, including a trailing
 *   `refs/tags/**`, is just `*`. GitHub's own example is `qa/**` + `/*` ("would match
 *   qa/foo/bar/foobar/hello-world"), and rulesets observed in the wild agree: a ruleset on
 *   `refs/heads/**` is not in force on `zzz/foo`.
 * - with `FNM_PATHNAME` and without `FNM_DOTMATCH`, a wildcard does not match a leading `.` of a
 *   segment; git refuses ref components that begin with `.`, so no ref is lost to that.
 */
export function fnmatchPathname(pattern: string, name: string): boolean {
  return matchSegments(pattern.split("/"), 0, name.split("/"), 0);
}

function matchSegments(pattern: readonly string[], p: number, name: readonly string[], n: number): boolean {
  // Ruby collapses consecutive `**/` and then tries the rest at every directory boundary.
  if (p < pattern.length - 1 && pattern[p] === "**") {
    let q = p;
    while (q < pattern.length - 1 && pattern[q] === "**") q++;
    for (let skip = n; skip < name.length; skip++) {
      if (matchSegments(pattern, q, name, skip)) return true;
      // `**/` does not descend into a dot directory.
      if (name[skip].startsWith(".")) return false;
    }
    return false;
  }
  if (p === pattern.length || n === name.length) return p === pattern.length && n === name.length;
  return matchSegment(pattern[p], name[n]) && matchSegments(pattern, p + 1, name, n + 1);
}

/** One segment: `*` any run of characters, `?` one character, `[...]` / `[!...]` / `[^...]` a class. */
function matchSegment(pattern: string, name: string): boolean {
  if (name.startsWith(".") && !pattern.startsWith(".")) return false;
  return matchFrom(pattern, 0, name, 0);
}

function matchFrom(pattern: string, p: number, name: string, n: number): boolean {
  while (p < pattern.length) {
    const c = pattern[p];
    if (c === "*") {
      while (pattern[p] === "*") p++;
      if (p === pattern.length) return true;
      for (let k = n; k <= name.length; k++) if (matchFrom(pattern, p, name, k)) return true;
      return false;
    }
    if (n >= name.length) return false;
    if (c === "?") {
      p++;
      n++;
      continue;
    }
    if (c === "[") {
      const end = pattern.indexOf("]", p + 2);
      if (end > 0) {
        const negate = pattern[p + 1] === "!" || pattern[p + 1] === "^";
        const body = pattern.slice(negate ? p + 2 : p + 1, end);
        let hit = false;
        for (let i = 0; i < body.length; i++) {
          if (body[i + 1] === "-" && i + 2 < body.length) {
            if (name[n] >= body[i] && name[n] <= body[i + 2]) hit = true;
            i += 2;
          } else if (body[i] === name[n]) {
            hit = true;
          }
        }
        if (hit === negate) return false;
        p = end + 1;
        n++;
        continue;
      }
    }
    if (c !== name[n]) return false;
    p++;
    n++;
  }
  return n === name.length;
}

/**
 * What the compliance repository's tag rulesets include: every tag, whatever its shape
 * (`refs/tags/v1.4.2`, `refs/tags/v9/x`, `refs/tags/main`). Not `refs/tags/v*`, which leaves tags
 * with a `/` unprotected, and not `refs/tags/**`, which under `FNM_PATHNAME` is `refs/tags/*`.
 */
export const ALL_TAGS_RULESET_INCLUDE = "refs/tags/**/*";

/**
 * True when one of `include` matches `ref` and none of `exclude` does (GitHub's ruleset ref
 * condition). Special values such as `~ALL` are taken literally, so they never prove coverage.
 */
export function rulesetCovers(include: readonly string[], ref: string, exclude: readonly string[] = []): boolean {
  return include.some((pattern) => fnmatchPathname(pattern, ref)) && !exclude.some((pattern) => fnmatchPathname(pattern, ref));
}
