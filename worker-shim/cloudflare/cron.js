// cron.js — the scheduled guardrail (Cron Trigger, every 5 minutes): compare
// the running canary with control at the shopper level (guardrails.js) and
// roll it back or promote it, each decision in the audit log with its
// figures.  Settings come from [vars]: GUARDRAIL_ALPHA (0.05),
// GUARDRAIL_MARGIN (0.01, absolute, on the conversion proportion),
// GUARDRAIL_MIN_SHOPPERS (1000 per arm), GUARDRAIL_MIN_HOURS (24),
// GUARDRAIL_METRIC (conversion | unit-ctr | both; default conversion: what the
// sequential test judges, the shopper conversion or the shopper-level unit CTR).
import { promote, rollback } from './admin.js';
import { decide } from '../core/guardrails.js';
import { MIRROR_KEY, audit, mirror, readManifest } from './lifecycle.js';
import { armStats } from './kpi.js';

/** The guardrail settings from env (defaults from guardrails.js when unset). */
export function guardrailConfig(env) {
  const c = {};
  const num = (name) => (env[name] !== undefined && env[name] !== '' ? Number(env[name]) : undefined);
  if (num('GUARDRAIL_ALPHA') !== undefined) c.alpha = num('GUARDRAIL_ALPHA');
  if (num('GUARDRAIL_MARGIN') !== undefined) c.margin = num('GUARDRAIL_MARGIN');
  if (num('GUARDRAIL_MIN_SHOPPERS') !== undefined) c.minShoppers = num('GUARDRAIL_MIN_SHOPPERS');
  if (num('GUARDRAIL_MIN_HOURS') !== undefined) c.minDurationMs = num('GUARDRAIL_MIN_HOURS') * 3_600_000;
  if (env.GUARDRAIL_METRIC !== undefined && env.GUARDRAIL_METRIC !== '') c.metric = String(env.GUARDRAIL_METRIC).trim();
  return c;
}

/** The KV mirror must say what D1 says: two changes can land their mirror writes out of order,
 * so each look rewrites it when it differs (one KV read, rarely a write). */
async function repairMirror(env, m) {
  if (!env.EDGEREC) return;
  try {
    const cur = JSON.parse((await env.EDGEREC.get(MIRROR_KEY)) ?? 'null');
    if (!cur || cur.revision !== m.revision) await mirror(env, m);
  } catch (e) { console.error(`edgerec: manifest mirror: ${e.message}`); }
}

/** One guardrail look; returns the decision (and applies it). */
export async function runGuardrail(env, now = Date.now()) {
  if (!env.DB) return { action: 'none', reason: 'D1 binding DB is missing' };
  const m = await readManifest(env.DB);
  await repairMirror(env, m);
  if (!m.canary || !m.run) return { action: 'none', reason: 'no canary' };
  const arms = await armStats(env.DB, m.run);
  const empty = { shoppers: 0, converted: 0, requests: 0, errors: 0, bypasses: 0 };
  let d;
  try {
    d = decide(arms.canary ?? empty, arms.control ?? empty, guardrailConfig(env), m.canary_started, now);
  } catch (e) { // a bad GUARDRAIL_* setting: say so in the audit log rather than fail silently every 5 minutes
    await audit(env, { action: 'guardrail-error', actor: 'guardrail', canary: m.canary, reason: `settings: ${e.message}` });
    return { action: 'error', reason: e.message };
  }
  const figures = { ...d.figures, canary_version: m.canary, active_version: m.active, run: m.run };
  try {
    // conditional on the manifest the figures are about: a change meanwhile (an admin's rollout) is a conflict
    if (d.action === 'rollback') await rollback(env, 'guardrail', d.reason, figures, m);
    else if (d.action === 'promote') await promote(env, 'guardrail', d.reason, figures, m);
  } catch (e) {
    await audit(env, { action: 'guardrail-error', actor: 'guardrail', canary: m.canary, reason: e.message });
    return { action: 'error', reason: e.message };
  }
  return { action: d.action, reason: d.reason, figures };
}
