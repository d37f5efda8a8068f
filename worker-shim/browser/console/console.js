// console.js — the operators' console page (docs/console.md), served by worker-shim/cloudflare/console-data.js
// under /edge/admin/ with a strict CSP.  It only reads the admin API and draws: every figure comes from
// GET /edge/admin/status, /edge/admin/console/* and /edge/health (the guardrail's own intervals and verdict).
// Every value is set as text (textContent), never as markup.  Charts: uPlot (window.uPlot, uplot.js).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const session = { role: null, csrf: null, name: null };

  /** An element with text children (strings become text nodes, never markup). */
  function el(tag, cls, ...children) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    for (const c of children) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  /** A table row of cells: strings or [text, class]. */
  function row(cells, field) {
    const tr = el('tr');
    if (field) tr.dataset.row = field;
    for (const c of cells) {
      const [text, cls, key] = Array.isArray(c) ? c : [c];
      const td = el('td', cls, text);
      if (key) td.dataset.field = key;
      tr.append(td);
    }
    return tr;
  }
  const fill = (tbody, rows, empty) => { tbody.replaceChildren(...(rows.length ? rows : [row([[empty, 'muted']])])); };
  const pct = (x, d = 2) => (x == null ? 'n/a' : `${(100 * x).toFixed(d)} %`);
  const pp = (x, d = 2) => (x == null ? 'n/a' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(d)} pp`);
  const money = (x) => (x == null ? 'n/a' : x.toFixed(2));
  const int = (x) => (x == null ? '0' : String(Math.round(x)));
  const when = (ms) => (ms == null ? 'n/a' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));
  const ago = (s) => (s == null ? 'n/a' : s < 120 ? `${Math.round(s)} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

  function showError(msg) { const e = $('error'); e.hidden = false; e.textContent = msg; }

  /** GET JSON from the admin API; null on 404 when allowed, else throws with the server's message. */
  async function get(path, { allow404 = false } = {}) {
    const r = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    if (allow404 && r.status === 404) return null;
    const body = await r.json().catch(() => null);
    if (!r.ok) throw new Error(`${path}: ${r.status} ${body?.error ?? r.statusText}`);
    return body;
  }
  /** A state-changing admin request (operator): with the session's CSRF token when there is one. */
  async function send(method, path, body) {
    const headers = { accept: 'application/json' };
    if (session.csrf) headers['x-edgerec-csrf'] = session.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(path, { method, credentials: 'same-origin', headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const out = await r.json().catch(() => ({}));
    return { status: r.status, ok: r.ok, body: out };
  }

  // ---- charts ------------------------------------------------------------------------------------
  const COLORS = ['#2456c8', '#c8552a', '#1c7c3a', '#8a3ab9', '#b08900', '#00838f', '#6d4c41'];
  const charts = [];
  /** A uPlot line chart over epoch hours: lines [{label, points: [{hour, [key]}]}]; markers: epoch ms drawn as rules. */
  function lineChart(target, hours, lines, key, { markers = [], digits = 3 } = {}) {
    target.replaceChildren();
    if (!window.uPlot) { target.append(el('p', 'error', 'the chart library did not load')); return; }
    if (!hours.length) { target.append(el('p', 'muted', 'no traffic in this period yet')); return; }
    const x = hours.map((h) => h * 3600);
    const data = [x, ...lines.map((l) => { const m = new Map(l.points.map((p) => [p.hour, p[key]])); return hours.map((h) => m.get(h) ?? null); })];
    const opts = {
      width: Math.max(320, target.clientWidth || 480), height: 180,
      series: [{}, ...lines.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length], width: l.holdout ? 2.5 : 1.5, dash: l.holdout ? [6, 4] : undefined,
        points: { show: hours.length < 3 }, value: (u, v) => (v == null ? '–' : Number(v.toPrecision(digits)).toString()) }))],
      axes: [{}, { size: 60 }],
      // the hours shown, one hour of margin each side (uPlot would stretch a single point over years)
      scales: { x: { time: true, auto: false, range: [x[0] - 3600, x[x.length - 1] + 3600] } },
      hooks: { draw: [(u) => {
        const { ctx, bbox } = u;
        ctx.save();
        ctx.strokeStyle = '#b3261e'; ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
        for (const ms of markers) {
          const px = u.valToPos(ms / 1000, 'x', true);
          if (px < bbox.left || px > bbox.left + bbox.width) continue;
          ctx.beginPath(); ctx.moveTo(px, bbox.top); ctx.lineTo(px, bbox.top + bbox.height); ctx.stroke();
        }
        ctx.restore();
      }] },
    };
    charts.push(new window.uPlot(opts, data, target));
  }

  // ---- panels ------------------------------------------------------------------------------------
  function renderManifest(status) {
    const m = status;
    const parts = [`active model: ${m.active ?? 'none'}`, m.canary ? `canary: ${m.canary} at ${m.percent} %` : 'no canary',
      `holdout: ${m.holdout} %`, `manifest revision ${m.revision}`];
    if (m.paused !== undefined) parts.push(m.paused ? 'personalization PAUSED' : 'personalization on');
    if (m.segment) parts.push(`rollout segment: ${JSON.stringify(m.segment)}`);
    if (m.scope) parts.push(`personalization scope: ${JSON.stringify(m.scope)}`);
    $('manifest').textContent = parts.join(' · ');
  }

  function renderUplift(status, series, verdict) {
    const v = $('verdict');
    v.textContent = verdict.words;
    v.className = `verdict ${verdict.action}`;
    v.dataset.action = verdict.action;
    const rows = [];
    for (const name of ['holdout', 'control', 'canary']) {
      const a = status.arms?.[name];
      if (!a) continue;
      const u = status.uplift_over_holdout?.[name];
      rows.push(row([[name, null, 'arm'], [int(a.shoppers), 'num', 'shoppers'], [int(a.converted), 'num', 'converted'],
        [pct(a.shoppers ? a.converted / a.shoppers : null), 'num', 'conversion'],
        [u ? pp(u.absolute?.estimate) : '—', 'num', 'uplift'],
        [u && u.absolute?.lower != null ? `${pp(u.absolute.lower)} … ${pp(u.absolute.upper)}` : '—', 'num', 'interval'],
        [u?.revenue ? `${money(u.revenue.absolute.estimate)} (${money(u.revenue.armMean)} vs ${money(u.revenue.holdoutMean)})` : '—', 'num', 'revenue']], name));
    }
    fill($('uplift-table').tBodies[0], rows, 'no shoppers exposed yet');
    const f = verdict.figures;
    const seq = f && (f.rollback ? f : f.conversion);
    $('sequential').textContent = seq?.rollback?.upperBound != null
      ? `The guardrail's always-valid sequential interval for canary − control conversion (α = ${seq.rollback.alpha}): `
        + `upper bound ${pp(seq.rollback.upperBound, 3)} (rolled back when below 0), lower bound ${pp(seq.promote.lowerBound, 3)} `
        + `(promotable when above −${pp(seq.promote.margin, 3).replace('+', '')}); difference now ${pp(seq.difference, 3)}.`
        + (Math.abs(seq.rollback.upperBound) > 1 || Math.abs(seq.promote.lowerBound) > 1
          ? ' The interval is still wider than ±100 pp: too few shoppers for it to say anything yet.' : '')
      : `No sequential interval yet: ${verdict.canary ? 'too few shoppers on an arm' : 'no canary is running'}.`;
    const lines = series.lines.map((l) => ({ ...l, label: l.arm === 'holdout' ? 'holdout' : `${l.version} (${l.arm})`, holdout: l.arm === 'holdout' }));
    lineChart($('chart-conversion'), series.hours, lines, 'conversion', { digits: 3 });
    lineChart($('chart-ctr'), series.hours, lines, 'ctr', { digits: 3 });
    lineChart($('chart-revenue'), series.hours, lines, 'revenue_per_shopper', { digits: 4 });
  }

  function renderTimeline(series, timeline) {
    const lines = series.lines.map((l) => ({ ...l, label: l.arm === 'holdout' ? 'holdout' : `${l.version} (${l.arm})`, holdout: l.arm === 'holdout' }));
    const manifestChanges = timeline.events.filter((e) => ['rollout', 'promote', 'rollback', 'pause', 'resume', 'scope'].includes(e.action));
    lineChart($('chart-timeline'), series.hours, lines, 'requests', { markers: manifestChanges.map((e) => e.ts), digits: 6 });
    const rows = [...timeline.events].reverse().map((e) => row([[when(e.ts), null, 'ts'], [e.action, null, 'action'], [e.actor, null, 'actor'],
      [e.by === 'automation' ? 'automation' : 'by hand', null, 'by'], [e.canary ?? e.active ?? '', null, 'version'], [e.reason ?? '', null, 'reason']], String(e.id)));
    fill($('timeline-table').tBodies[0], rows, 'nothing happened in this period');
  }

  function renderHealth(health, status, series, metrics) {
    const facts = [];
    const add = (k, v, cls, key) => { const dd = el('dd', cls, v); if (key) dd.dataset.field = key; facts.push(el('dt', null, k), dd); };
    add('edge', health.ok ? 'healthy' : 'NOT healthy', health.ok ? 'good' : 'bad', 'ok');
    add('active bundle', `${health.bundle_version ?? 'none'}${health.bundle_error ? ` (last error: ${health.bundle_error})` : ''}`, null, 'bundle');
    const lastHour = series.hours.length ? series.hours[series.hours.length - 1] : null;
    let events = 0, requests = 0, errors = 0, bypasses = 0, units = 0;
    for (const l of series.lines) for (const p of l.points) if (p.hour === lastHour) {
      events += p.impressions + p.clicks + p.carts + p.purchases; requests += p.requests; errors += p.errors; bypasses += p.bypasses; units += p.work_units;
    }
    add('events per minute (last hour with traffic)', lastHour == null ? 'n/a' : (events / 60).toFixed(2), null, 'events_per_min');
    add('errors / bypasses (last hour)', `${errors} / ${bypasses} of ${requests} requests`, errors || bypasses ? 'bad' : null, 'errors');
    const budget = health.bundle?.budget;
    const impressions = series.lines.reduce((a, l) => a + l.points.filter((p) => p.hour === lastHour).reduce((b, p) => b + p.impressions, 0), 0);
    add('work units per request vs budget', impressions ? `${Math.round(units / impressions)} of ${budget ?? 'n/a'}` : 'n/a', null, 'work_units');
    const cat = health.catalog;
    if (cat && !metrics) add('catalog view', cat.stores?.length ? cat.stores.map((s) => `${s.store}:${s.currency} v${s.version ?? '–'}, lag ${ago(s.lagSeconds)}`).join('; ') : 'not synced', null, 'catalog');
    const ll = health.live_lists;
    if (ll) add('live popularity lists', ll.version ? `in force, ${ago(ll.age_seconds)} old` : 'none published (the bundle\'s lists serve)', null, 'live_lists');
    if (metrics) {
      const c = metrics.counters ?? {};
      const total = (name) => (c[name] ?? []).reduce((a, x) => a + x.value, 0);
      const byLabel = (name, label) => (c[name] ?? []).filter((x) => x.value > 0).map((x) => `${x.labels[label] ?? (Object.values(x.labels).join(',') || '–')}: ${int(x.value)}`).join(', ') || 'none';
      add('events received / written to R2 (total)', `${int(total('events_received'))} / ${int(total('events_written'))}`, null, 'events_written');
      const lag = metrics.event_log?.last_batch_max_lag_seconds;
      add('event-log lag (last batch, max)', lag == null ? 'n/a' : `${lag.toFixed(1)} s`, lag > 300 ? 'bad' : null, 'lag');
      add('rejected events by reason', byLabel('rejected', 'reason'), null, 'rejected');
      add('bypasses by reason', byLabel('bypass', 'reason'), null, 'bypasses');
      add('error / failure rate (this and last hour)', `${pct(metrics.rates?.error_rate)} / ${pct(metrics.rates?.bypass_rate)}`, null, 'rates');
      for (const b of metrics.lifecycle?.bundles ?? []) add(`${b.slot} bundle age`, `${b.version}: ${ago(b.age_seconds)}, ${b.test_work_units ?? 'n/a'} work units per test request`, null, `bundle_${b.slot}`);
      for (const s of metrics.catalog?.stores ?? []) add(`catalog view ${s.store}:${s.currency}`, `${ago(s.age_seconds)} old${s.failing ? ' (sync failing)' : ''}`, s.failing ? 'bad' : null, `catalog_${s.store}`);
      add('cron (guardrail) last run', metrics.cron?.last_run ? `${ago(metrics.cron.age_seconds)} ago${metrics.cron.stale ? ' — STALE' : ''}` : 'never', metrics.cron?.stale ? 'bad' : null, 'cron');
      const p = metrics.parity;
      const p24 = p?.last24h;
      add('profile parity (last 24 h)', p24?.ratio != null
        ? `${pct(p24.ratio, 2)} of ${int(p24.checked)} signed-in sessions equal the KV copy after ${int(p.quietSeconds)} s quiet (target ${pct(p.target, 1)})`
        : 'no signed-in session checked yet', p24?.ratio != null && p.target != null && p24.ratio < p.target ? 'bad' : null, 'parity');
      const firing = (metrics.alerts ?? []).filter((a) => a.firing);
      add('alerts firing', firing.length ? firing.map((a) => `${a.key}: ${a.summary ?? ''}`).join('; ') : 'none', firing.length ? 'bad' : 'good', 'alerts');
    } else {
      add('metrics snapshot', 'not available (GET /edge/admin/console/metrics)', 'muted', 'metrics');
    }
    const checks = Object.entries(health.checks ?? {}).filter(([, ok]) => !ok).map(([k]) => k);
    add('missing bindings / secrets', checks.length ? checks.join(', ') : 'none', checks.length ? 'bad' : 'good', 'checks');
    $('health-list').replaceChildren(...facts);
  }

  function renderUnits(status) {
    const rows = [];
    for (const [version, v] of Object.entries(status.units ?? {})) {
      for (const u of v.units) {
        rows.push(row([[version === 'none' ? 'holdout' : version], [u.unit, null, 'unit'], [u.unit_type, null, 'type'], [int(u.views), 'num', 'views'],
          [int(u.clicks), 'num', 'clicks'], [pct(u.ctr), 'num', 'ctr'], [pct(u.add_to_cart_rate), 'num', 'atc'], [pct(u.conversion), 'num', 'conversion'],
          [money(u.revenue), 'num', 'revenue']], `${version}/${u.unit}`));
      }
    }
    fill($('units-table').tBodies[0], rows, 'no unit has been shown yet');
  }

  async function renderUnitsEditor() {
    const list = await get('/edge/admin/units');
    const rows = list.units.map((u) => {
      const tr = row([[u.unitId, null, 'id'], [u.unitName, null, 'name'], [u.pageType], [u.typeId], [u.status === 'active' ? 'yes' : 'no']], u.unitId);
      const td = el('td');
      const edit = el('button', null, 'Edit');
      edit.type = 'button'; edit.dataset.operator = '';
      edit.addEventListener('click', () => {
        const { default: _d, ...body } = u;
        $('unit-json').value = JSON.stringify(body, null, 2);
        $('unit-form').dataset.id = u.unitId;
      });
      td.append(edit);
      if (!u.default) {
        const del = el('button', 'danger', 'Delete');
        del.type = 'button'; del.dataset.operator = '';
        del.addEventListener('click', async () => {
          if (!confirm(`Delete unit ${u.unitId}?`)) return;
          const r = await send('DELETE', `/edge/admin/units/${encodeURIComponent(u.unitId)}`);
          $('unit-result').textContent = r.ok ? `deleted ${u.unitId}` : `refused: ${r.body.error ?? r.status}`;
          if (r.ok) await renderUnitsEditor();
        });
        td.append(' ', del);
      }
      tr.append(td);
      return tr;
    });
    fill($('units-editor').tBodies[0], rows, 'no units');
    applyRole();
  }

  function renderFeedback(fb) {
    const rows = fb.groups.map((g) => row([[g.version === 'none' ? 'holdout' : g.version], [g.arm], [g.unit ?? '(listing)', null, 'unit'],
      [g.ratings.join(' / '), 'num', 'ratings'], [g.mean == null ? 'n/a' : g.mean.toFixed(2), 'num', 'mean'], [int(g.up), 'num', 'up'], [int(g.down), 'num', 'down']],
    `${g.version}/${g.arm}/${g.unit ?? ''}`));
    fill($('feedback-table').tBodies[0], rows, 'no feedback yet');
    $('feedback-text-note').textContent = fb.text_days > 0
      ? `Free text is kept ${fb.text_days} day(s) (FEEDBACK_TEXT_DAYS); the newest:`
      : 'Free text is not kept (FEEDBACK_TEXT_DAYS is 0): ratings and thumbs only.';
    $('feedback-texts').replaceChildren(...(fb.texts ?? []).map((t) => el('li', null, `${when(t.ts * 1000)} · ${t.item} · rating ${t.rating}: `, el('q', null, t.text))));
  }

  function renderManual(mw) {
    fill($('manual-table').tBodies[0], mw.weeks.map((w) => row([[w.week], [int(w.hand), 'num', 'hand'], [int(w.automation), 'num', 'automation']], w.week)),
      'no manifest changes in the last 12 weeks');
  }

  // ---- roles and actions ---------------------------------------------------------------------------
  const isOperator = () => session.role === 'operator';
  function applyRole() {
    for (const e of document.querySelectorAll('[data-operator]')) {
      if (e.tagName === 'BUTTON' && e.closest('#units-editor')) e.disabled = !isOperator();
    }
    $('unit-form').hidden = !isOperator();
  }
  function setButtons(status) {
    const op = isOperator();
    $('btn-rollback').hidden = !op || !status.canary;
    $('btn-promote').hidden = !op || !status.canary;
    const pausable = op && status.paused !== undefined && !pauseMissing; // the kill switch, where the Worker has it
    $('btn-pause').hidden = !pausable || !!status.paused;
    $('btn-resume').hidden = !pausable || !status.paused;
  }
  let pauseMissing = false;
  async function act(path, question) {
    if (!confirm(question)) return;
    const r = await send('POST', path);
    if (r.status === 404 && /pause|resume/.test(path)) pauseMissing = true;
    $('action-result').textContent = r.ok ? `done: ${path.split('/').pop()}` : `refused (${r.status}): ${r.body.error ?? ''}`;
    await load();
  }

  async function load() {
    try {
      const [status, series, verdict, timeline, feedback, manual, health, metrics] = await Promise.all([
        get('/edge/admin/status'), get('/edge/admin/console/series?days=7'), get('/edge/admin/console/verdict'),
        get('/edge/admin/console/timeline?days=7'), get('/edge/admin/console/feedback?days=7'), get('/edge/admin/console/manual-work'),
        fetch('/edge/health', { headers: { accept: 'application/json' } }).then((r) => r.json()),
        get('/edge/admin/console/metrics', { allow404: true }).catch(() => null),
      ]);
      for (const c of charts.splice(0)) c.destroy();
      renderManifest(status);
      renderUplift(status, series, verdict);
      renderTimeline(series, timeline);
      renderHealth(health, status, series, metrics);
      renderUnits(status);
      renderFeedback(feedback);
      renderManual(manual);
      setButtons(status);
      await renderUnitsEditor();
      document.body.dataset.loaded = String(Date.now());
    } catch (e) {
      showError(`Could not load the console: ${e.message}`);
      document.body.dataset.loaded = 'error';
    }
  }

  async function start() {
    const s = await fetch('/edge/admin/session', { credentials: 'same-origin', headers: { accept: 'application/json' } }).catch(() => null);
    if (s && s.ok) {
      const b = await s.json();
      session.role = b.role ?? b.actor?.role ?? null; session.csrf = b.csrf ?? null; session.name = b.name ?? b.actor?.name ?? null;
    } else if (s && s.status === 404) {
      session.role = 'operator'; // no session route on this Worker: the bearer token (admin) is the only way in
    }
    $('who').textContent = `signed in${session.name ? ` as ${session.name}` : ''} · role: ${session.role ?? 'unknown'}`;
    $('btn-rollback').addEventListener('click', () => act('/edge/admin/rollback', 'Roll the canary back now? Everyone gets the active model.'));
    $('btn-promote').addEventListener('click', () => act('/edge/admin/promote', 'Promote the canary to active for everyone?'));
    $('btn-pause').addEventListener('click', () => act('/edge/admin/pause', 'Pause personalization? Everyone gets the origin\'s order.'));
    $('btn-resume').addEventListener('click', () => act('/edge/admin/resume', 'Resume personalization?'));
    $('unit-new').addEventListener('click', () => {
      delete $('unit-form').dataset.id;
      $('unit-json').value = JSON.stringify({ unitName: 'New unit', typeId: 'most-viewed', pageType: 'CMS', status: 'inactive' }, null, 2);
    });
    $('unit-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      let body;
      try { body = JSON.parse($('unit-json').value); } catch (e) { $('unit-result').textContent = `not JSON: ${e.message}`; return; }
      const id = $('unit-form').dataset.id ?? body.unitId;
      const r = id ? await send('PUT', `/edge/admin/units/${encodeURIComponent(id)}`, body) : await send('POST', '/edge/admin/units', body);
      $('unit-result').textContent = r.ok ? `saved ${r.body.unit?.unitId ?? r.body.unitId ?? id ?? ''}`
        : `refused (${r.status}): ${r.body.error ?? ''}${r.body.errors ? ` — ${r.body.errors.map((x) => x.message ?? JSON.stringify(x)).join('; ')}` : ''}`;
      if (r.ok) await load();
    });
    applyRole();
    await load();
  }
  start();
})();
