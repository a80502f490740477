#!/usr/bin/env bash
# Runs SyncGuard's own unit tests against @firebrick/lock, changing nothing in them but their imports of
# SyncGuard itself (`…/index.js` → `@firebrick/lock`, `…/common/*.js` → `@firebrick/lock/common`,
# `…/firestore/*` → `@firebrick/lock/firestore`); `bun:test` maps to vitest (bun-test.ts).
#
#   packages/lock/test/syncguard-compat/run-upstream.sh /path/to/syncguard-checkout [test files…]
#
# Without file arguments it runs the files listed below (the ones about the public surface; README.md in this
# folder lists the cases expected to differ, and why). Nothing is copied into the repository's history:
# the copies live in .temp/, which git ignores and vitest's default exclusions skip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
upstream="${1:?usage: run-upstream.sh <syncguard checkout> [test files relative to it]}"
shift
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(
    test/unit/common/auto-lock.test.ts
    test/unit/common/errors.test.ts
    test/unit/common/helpers.test.ts
    test/unit/common/key-validation.test.ts
    test/unit/common/telemetry.test.ts
    test/unit/disposable/create-handle.test.ts
    test/unit/disposable/decorate-result.test.ts
    test/unit/disposable/error-callbacks.test.ts
    test/unit/disposable/idempotency.test.ts
    test/unit/disposable/timeout.test.ts
  )
fi
rm -rf "$here/.temp" && mkdir -p "$here/.temp"
trap 'rm -rf "$here/.temp"' EXIT
for file in "${files[@]}"; do
  target="$here/.temp/$(echo "$file" | tr '/' '_')"
  sed -E \
    -e 's#"(\.\./)+index\.js"#"@firebrick/lock"#' \
    -e 's#"(\.\./)+common(/[a-z-]+(\.js)?)?"#"@firebrick/lock/common"#' \
    -e 's#"(\.\./)+firestore(/[a-z/-]+(\.js)?)?"#"@firebrick/lock/firestore"#' \
    "$upstream/$file" > "$target"
done
cd "$here/../../../.."
npx vitest run --config "$here/upstream.vitest.config.ts"
