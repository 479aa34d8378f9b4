#!/usr/bin/env bash
# The release path, rehearsed: in a scratch clone of the committed tree, `changeset version` must bump
# every package that has a changeset and write its CHANGELOG, and `pnpm publish -r --dry-run` must pack
# every public package. Nothing is published and this work tree is not touched. Needs the build
# outputs (dist) of this work tree: run after `pnpm build`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/engram-release-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
git clone -q --no-hardlinks "$root" "$scratch/repo"
cd "$scratch/repo"
pnpm install --offline --frozen-lockfile --ignore-scripts --reporter=silent
for dir in packages/*/ apps/*/; do
  if [ -d "$root/$dir/dist" ]; then cp -R "$root/$dir/dist" "$dir/dist"; fi
done

before="$(git ls-files -- '*/package.json' | xargs grep -h '"version"' | tr -d ' ')"
pnpm exec changeset version
after="$(git ls-files -- '*/package.json' | xargs grep -h '"version"' | tr -d ' ')"
if [ -n "$(ls .changeset/*.md 2>/dev/null | grep -v README || true)" ]; then
  echo "release dry run: changeset version left changesets behind" >&2
  exit 1
fi
if [ "$before" = "$after" ] && [ -n "$(git -C "$root" ls-files -- '.changeset/*.md' | grep -v README || true)" ]; then
  echo "release dry run: there are changesets but changeset version bumped no package" >&2
  exit 1
fi
git status --short -- packages apps
for changed in $(git diff --name-only -- '*/package.json'); do
  if [ ! -f "$(dirname "$changed")/CHANGELOG.md" ]; then
    echo "release dry run: $(dirname "$changed") was bumped but has no CHANGELOG.md" >&2
    exit 1
  fi
done
pnpm publish -r --dry-run --no-git-checks --report-summary >/dev/null
node -e '
  const { publishedPackages } = JSON.parse(require("fs").readFileSync("pnpm-publish-summary.json", "utf8"));
  if (publishedPackages.length === 0) { console.error("release dry run: pnpm publish packed no package"); process.exit(1); }
  console.log(`release dry run: ${publishedPackages.length} packages would be published: ${publishedPackages.map((p) => `${p.name}@${p.version}`).join(", ")}`);
'
