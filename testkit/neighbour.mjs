// Drive a built codex-multi-auth checkout's own storage code: save a pool the way it saves one,
// or load one and say what it sees. Used by testkit/neighbour.py; never by the tool itself.
//
//   node testkit/neighbour.mjs CHECKOUT save < spec.json   # {accounts, flagged, quota}
//   node testkit/neighbour.mjs CHECKOUT load               # prints what its loaders read
//
// The folder is codex-multi-auth's own setting, CODEX_MULTI_AUTH_DIR. Output carries no token:
// refresh tokens are given by their SHA-256.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [checkout, action] = process.argv.slice(2);
const lib = (name) => import(pathToFileURL(join(checkout, "dist", "lib", name)).href);
const storage = await lib("storage.js");
const quota = await lib("quota-cache.js");
const digest = (token) => (token ? createHash("sha256").update(token).digest("hex") : null);

if (action === "save") {
  const spec = JSON.parse(readFileSync(0, "utf8"));
  await storage.saveAccounts(spec.accounts);
  if (spec.flagged) await storage.saveFlaggedAccounts(spec.flagged);
  if (spec.quota) await quota.saveQuotaCache(spec.quota);
} else if (action === "load") {
  const loaded = await storage.loadAccounts();
  const flagged = await storage.loadFlaggedAccounts();
  const cache = await quota.loadQuotaCache();
  const health = await storage.inspectStorageHealth();
  const view = (a) => ({
    email: a.email ?? null,
    accountId: a.accountId ?? null,
    enabled: a.enabled !== false,
    refreshToken: digest(a.refreshToken),
  });
  process.stdout.write(
    JSON.stringify({
      health: health.state,
      activeIndex: loaded?.activeIndex ?? null,
      accounts: (loaded?.accounts ?? []).map(view),
      flagged: (flagged?.accounts ?? []).map(view),
      quota: { byAccountId: Object.keys(cache.byAccountId).sort(), byEmail: Object.keys(cache.byEmail).sort() },
    }) + "\n",
  );
} else {
  process.stderr.write(`neighbour.mjs: unknown action ${action}: save or load\n`);
  process.exit(2);
}
