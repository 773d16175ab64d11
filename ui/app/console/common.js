// What the console's views share: who is logged in, look-ups (taxonomy, region and organisation
// names) cached once, small render helpers, and the error sentence shown under a form.
import { get, getAll, query, esc, errorText, ApiFailure } from '/shared/api.js';
import { t, label, lang, when, countdown } from '/shared/i18n.js';

export const state = {
  session: null, me: null, user: null,
  /** The caller's own unit ({kind, code}) or null for roles bound to none (admin, steward…). */
  unit: null,
  taxonomy: new Map(), regions: new Map(), orgs: new Map(), orgList: [],
};

const pendingRegions = new Map();

/** Loads the look-ups the lists need; failures leave codes shown as codes. */
export async function loadLookups() {
  const within = state.me?.jurisdiction;
  const tasks = [
    get('/taxonomy').then((list) => list.forEach((c) => state.taxonomy.set(c.code, c))),
    getAll('/organisations', {}).then((list) => { state.orgList = list; list.forEach((o) => state.orgs.set(o.code, o)); }),
  ];
  for (const level of ['district', 'street', 'community', 'grid']) {
    tasks.push(get(`/regions?level=${level}&limit=1000${within ? `&within=${encodeURIComponent(within)}` : ''}`)
      .then((page) => page.items.forEach(rememberRegion)));
  }
  if (within) tasks.push(get(`/regions/${encodeURIComponent(within)}/ancestors`).then((list) => list.forEach(rememberRegion)));
  await Promise.allSettled(tasks);
}

/**
 * Loads a page of a list view — `view` holds `list` (its element), `items`, `ids`, `cursor`,
 * `loaded`, `loading`, `seq` and `buffer` (live messages that came while loading) — from `path`
 * with `params`, from the start when `reset`, else after the view's cursor. Then draws it with
 * `render` and applies the buffered messages with `apply`. Returns the page; null when a newer
 * load superseded this one or it failed (the failure is shown in the list).
 */
export async function loadPage(view, path, params, reset, { render, apply }) {
  const seq = ++view.seq;
  view.loading = true;
  if (reset) view.list.innerHTML = `<div class="empty">${esc(t('loading'))}</div>`;
  let page;
  try {
    page = await get(`${path}${query({ ...params, cursor: reset ? '' : view.cursor })}`);
  } catch (error) {
    if (seq !== view.seq) return null;
    view.loading = false;
    view.list.innerHTML = `<div class="empty error">${esc(failureText(error))}</div>`;
    return null;
  }
  if (seq !== view.seq) return null;
  if (reset) { view.items.clear(); view.ids = []; }
  for (const x of page.items) { if (!view.items.has(x.id)) view.ids.push(x.id); view.items.set(x.id, x); }
  view.cursor = page.next_cursor || null;
  view.loading = false;
  view.loaded = true;
  render();
  for (const m of view.buffer.splice(0)) apply(m);
  return page;
}

/** The foot every list pane has: how many are loaded, and a button for more. */
export function listFootHtml() {
  return `<div class="list-foot"><span class="count"></span><button type="button" class="more" hidden>${esc(t('q.more'))}</button></div>`;
}

/**
 * Wires what every list pane has: "refresh" and "load more" call `load(reset)` (or `refresh`),
 * and a row (`row`, a selector) opens at `route(rowElement)` on a click or Enter.
 */
export function wireList(view, { load, row, route, refresh = () => load(true) }) {
  view.root.querySelector('.refresh').addEventListener('click', refresh);
  view.root.querySelector('.more').addEventListener('click', () => load(false));
  const open = (e) => {
    const el = e.target.closest(row);
    if (el) go(route(el));
  };
  view.list.addEventListener('click', open);
  view.list.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(e); });
}

/**
 * Segment buttons (`.seg button[data-<name>]`): marks the one `current()` names and, on a click,
 * `choose`s its value, marks it and reloads the list.
 */
export function wireSegments(view, name, current, choose, load) {
  const mark = () => view.root.querySelectorAll('.seg button').forEach((b) => b.classList.toggle('active', b.dataset[name] === current()));
  mark();
  view.root.querySelector('.seg').addEventListener('click', (e) => {
    const b = e.target.closest(`button[data-${name}]`);
    if (!b) return;
    choose(b.dataset[name]);
    mark();
    load(true);
  });
}

export function rememberRegion(r) {
  if (r && r.code) state.regions.set(r.code, r);
}

/** A region's name when known; unknown ones are fetched once and every `.rname[data-code]` filled. */
export function regionName(code) {
  if (!code) return '';
  const known = state.regions.get(code);
  if (known) return known.name;
  if (!pendingRegions.has(code)) {
    pendingRegions.set(code, get(`/regions/${encodeURIComponent(code)}`).then((r) => {
      rememberRegion(r);
      document.querySelectorAll(`.rname[data-code="${CSS.escape(code)}"]`).forEach((el) => { el.textContent = r.name; });
    }).catch(() => {}));
  }
  return code;
}

export function regionHtml(code) {
  return `<span class="rname" data-code="${esc(code)}" title="${esc(code)}">${esc(regionName(code))}</span>`;
}

export function categoryName(code) {
  const c = state.taxonomy.get(code);
  if (!c) return code || '';
  return lang() === 'en' ? code : c.name_zh;
}

export function orgName(code) {
  return state.orgs.get(code)?.name || code || '';
}

export function unitName(unit) {
  if (!unit) return '';
  return unit.name || (unit.kind === 'organisation' ? orgName(unit.code) : regionName(unit.code));
}

export const unitKey = (u) => (u ? `${u.kind}:${u.code}` : '');

export function isMyUnit(unit) {
  return !!(unit && state.unit && unit.kind === state.unit.kind && unit.code === state.unit.code);
}

/** Whom a history entry names as actor. */
export function actorText(actor) {
  if (!actor) return t('o.platform');
  return `${actor.username}（${label('role', actor.role)}）`;
}

/** The status tag of an order. */
export function statusTag(status) {
  const cls = { new: 'st-new', dispatched: 'st-dispatched', returned: 'st-returned', accepted: 'st-accepted', in_progress: 'st-progress',
    suspended: 'st-suspended', resolved: 'st-resolved', callback: 'st-callback', closed: 'st-closed', terminated: 'st-closed' }[status] || '';
  return `<span class="status ${cls}" data-status="${esc(status)}">${esc(label('status', status))}</span>`;
}

const FINISHED = new Set(['resolved', 'callback', 'closed', 'terminated']);

/** The SLA cell of an order: countdown to the resolution deadline, coloured by how close it is. */
export function slaHtml(order, now = Date.now()) {
  if (FINISHED.has(order.status)) {
    const at = order.resolved_at || order.closed_at;
    return `<span class="sla sla-done">${esc(at ? when(at) : '—')}</span>`;
  }
  if (order.status === 'suspended') return `<span class="sla sla-paused">${esc(label('status', 'suspended'))}</span>`;
  const due = new Date(order.resolve_due_at).getTime();
  const start = new Date(order.clock_started_at || order.created_at).getTime();
  const left = due - now;
  let cls = 'sla-ok';
  if (left < 0 || order.overdue) cls = 'sla-over';
  else if (order.warned_at || (due > start && left / (due - start) < 0.2)) cls = 'sla-warn';
  return `<span class="sla ${cls}" data-due="${esc(order.resolve_due_at)}" title="${esc(t('o.resolve_due'))} ${esc(when(order.resolve_due_at, true))}">${esc(countdown(order.resolve_due_at, now))}</span>`;
}

/** Re-renders every `.sla[data-due]` countdown (called each 30 s). */
export function tickCountdowns() {
  const now = Date.now();
  document.querySelectorAll('[data-countdown]').forEach((el) => {
    el.textContent = countdown(el.dataset.countdown, now);
    el.classList.toggle('over', new Date(el.dataset.countdown).getTime() < now);
  });
  document.querySelectorAll('.sla[data-due]').forEach((el) => {
    el.textContent = countdown(el.dataset.due, now);
    if (new Date(el.dataset.due).getTime() < now) { el.classList.remove('sla-ok', 'sla-warn'); el.classList.add('sla-over'); }
  });
}

const FIELD_NAMES = {
  to: 'f.to', note: 'f.note', reason: 'f.reason', until: 'f.until', result: 'f.result', solved: 'f.solved', satisfaction: 'f.satisfaction',
  title: 'w.title', departments: 'w.departments', deadline: 'w.deadline', urgency: 'w.urgency',
};

/**
 * The sentence shown when a request fails: errorText's readable head (in the current language),
 * with the fields named in words and, for an illegal transition, what the state allows.
 */
export function failureText(error, { action, status } = {}) {
  if (!(error instanceof ApiFailure)) return errorText(error);
  if (error.code === 'illegal_transition') {
    const allowed = (error.allowed || []).filter((a) => a !== 'comment').map((a) => label('action', a)).join('、') || '—';
    return lang() === 'en'
      ? `${t('error.illegal_transition')}${action ? ` (${label('action', action)}${status ? `, now ${label('status', status)}` : ''})` : ''}. ${t('error.allowed')}: ${allowed}.`
      : `${t('error.illegal_transition')}${action ? `（「${label('action', action)}」${status ? `，工单当前为「${label('status', status)}」` : ''}）` : ''}。${t('error.allowed')}：${allowed}。`;
  }
  if (error.code === 'stale_version') return `${t('error.stale_version')}${lang() === 'en' ? ' (reloaded)' : '（已刷新为最新状态）'}`;
  if (error.code === 'forbidden' && action) {
    return lang() === 'en'
      ? `${t('error.forbidden')} (${label('action', action)}): ${error.message}`
      : `${t('error.forbidden')}（「${label('action', action)}」）：${error.message}`;
  }
  if (error.code === 'invalid_field' && error.errors.length) {
    const parts = error.errors.map((e) => `${FIELD_NAMES[e.field] ? t(FIELD_NAMES[e.field]) : e.field}：${e.message}`);
    return `${t('error.invalid_field')}：${parts.join('；')}`;
  }
  return errorText(error);
}

/** Shows `text` in a form's `.form-error` box (or clears it). */
export function showFormError(form, text) {
  const box = form.querySelector('.form-error');
  if (!box) return;
  box.textContent = text || '';
  box.hidden = !text;
}

export function emptyHtml(text) {
  return `<div class="empty">${esc(text)}</div>`;
}

/** A key for POST retries: one per form submission. */
export function idempotencyKey() {
  return (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);
}

/** Opens another view's record by changing the hash (`queue/181`, `inbox/3`…). */
export function go(path) {
  if (location.hash !== `#/${path}`) location.hash = `#/${path}`;
}

/** Sets the hash without triggering the router (to record an opened form in the route). */
export function setRoute(path) {
  const hash = `#/${path}`;
  if (location.hash !== hash) {
    history.replaceState(null, '', hash);
    localStorage.setItem('linli.console.route', hash);
  }
}

export { esc, t, label, when, countdown };
