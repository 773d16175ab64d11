// 小屏优处置: the phone app of grid workers (tasks: accept, navigate, check in, photos, resolve;
// patrol reports) and residents (report with photo and location, follow, rate at callback).
// Every change goes through the offline queue (queue.js), so nothing typed or done is lost when
// the network drops; the service worker (sw.js) keeps the app itself openable offline.
import { requireSession, session, api, errorText, keepDrafts, clearDrafts, esc, toast, logout, mediaUrl } from '/shared/api.js';
import { t, label, applyI18n, langButton, when, countdown } from '/shared/i18n.js';
import { follow } from '/shared/live.js';
import * as queue from './queue.js';
import { categoryName, stored, store, locate, distance, metres, geoUri, photoPicker, debounce } from './util.js';

const me = requireSession(['grid_worker', 'resident']).user;
const isGrid = me.role === 'grid_worker';
const KEY = {
  taxonomy: 'linli.mobile.taxonomy', tasks: `linli.mobile.tasks.${me.id}`, done: `linli.mobile.done.${me.id}`,
  reports: `linli.mobile.reports.${me.id}`, mine: `linli.mobile.mine.${me.id}`, region: `linli.mobile.region.${me.id}`, places: 'linli.mobile.places',
};
const OPEN = ['new', 'dispatched', 'accepted', 'in_progress', 'suspended', 'returned'];
const FINISHED = ['resolved', 'callback', 'closed', 'terminated'];
const ACCEPTABLE = ['new', 'dispatched', 'returned'];
const RESOLVABLE = ['accepted', 'in_progress'];

const state = {
  taxonomy: stored(KEY.taxonomy, []),
  tasks: stored(KEY.tasks, []),
  done: stored(KEY.done, []),
  mine: stored(KEY.mine, []),
  reportIds: stored(KEY.reports, []),
  region: stored(KEY.region, null),
  places: stored(KEY.places, {}),
  filter: 'open',
  here: null,
  queue: [],
  detail: null,
  tab: null,
};

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// --- Shell: header, tabs, language, connection ---------------------------------------------------

const TABS = isGrid
  ? [['tasks', 'm.tab.tasks', 'tasks'], ['report', 'm.tab.report', 'camera'], ['me', 'm.tab.me', 'user']]
  : [['report', 'm.tab.report', 'camera'], ['mine', 'm.tab.mine', 'list']];

const ICONS = {
  tasks: '<path d="M9 5h11M9 12h11M9 19h11"/><path d="m3.5 5 1.5 1.5L7.5 4M3.5 12l1.5 1.5L7.5 11M3.5 19l1.5 1.5L7.5 18"/>',
  camera: '<path d="M4 8h3l2-3h6l2 3h3v11H4z"/><circle cx="12" cy="13" r="3.5"/>',
  user: '<circle cx="12" cy="8" r="4"/><path d="M4 21c1.5-4 4.5-6 8-6s6.5 2 8 6"/>',
  list: '<rect x="4" y="3" width="16" height="18" rx="2"/><path d="M8 8h8M8 12h8M8 16h5"/>',
  pin: '<path d="M12 21s-7-6.2-7-11a7 7 0 0 1 14 0c0 4.8-7 11-7 11z"/><circle cx="12" cy="10" r="2.5"/>',
  clock: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
  nav: '<path d="m3 11 18-8-8 18-2-8z"/>',
  back: '<path d="m15 5-7 7 7 7"/>',
  refresh: '<path d="M20 11a8 8 0 1 0-2.3 5.7"/><path d="M20 5v6h-6"/>',
};
const icon = (name, cls = 'icon') => `<svg class="${cls}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${ICONS[name]}</svg>`;

function shell() {
  document.title = `邻里 · ${t(isGrid ? 'm.title.grid' : 'm.title.resident')}`;
  $('#app-title').textContent = t(isGrid ? 'm.title.grid' : 'm.title.resident');
  showWho();
  $('#lang-slot').appendChild(langButton());
  $('#tabbar').innerHTML = TABS.map(([id, key, ic]) => `<button type="button" data-tab="${id}">${icon(ic)}<span>${esc(t(key))}</span></button>`).join('');
  $('#tabbar').addEventListener('click', (e) => {
    const b = e.target.closest('[data-tab]');
    if (b) location.hash = b.dataset.tab;
  });
  applyI18n();
  window.addEventListener('online', () => { reachable(true); sync(); refresh(); });
  window.addEventListener('offline', () => reachable(false));
  reachable(navigator.onLine);
  $('#pending-chip').addEventListener('click', () => { location.hash = isGrid ? 'me' : 'mine'; });
  window.addEventListener('hashchange', route);
  $('#viewer').addEventListener('click', () => { $('#viewer').hidden = true; });
  document.addEventListener('click', (e) => {
    const img = e.target.closest('img[data-media]');
    if (img && img.src) { $('#viewer img').src = img.src; $('#viewer').hidden = false; }
  });
}

/** Shows the offline banner while the browser is offline or the server cannot be reached. */
function reachable(ok) {
  state.unreachable = !ok;
  $('#offline-banner').hidden = navigator.onLine && !state.unreachable;
}

function showWho() {
  // Demo names carry the role already (网格员 李强); others get it added.
  const role = label('role', me.role);
  const name = me.display_name.includes(role) ? me.display_name : `${role} ${me.display_name}`;
  $('#who').textContent = state.region ? `${name} · ${state.region.name}` : name;
}

function route() {
  const hash = location.hash.replace(/^#/, '');
  const detail = hash.match(/^order\/(\d+)$/);
  if (detail && isGrid) {
    if (!state.tab) showTab('tasks');
    openDetail(Number(detail[1]));
    return;
  }
  closeDetail();
  showTab(TABS.some(([id]) => id === hash) ? hash : TABS[0][0]);
  window.scrollTo(0, 0);
}

function showTab(tab) {
  state.tab = tab;
  $$('.tab').forEach((s) => { s.hidden = s.id !== `tab-${tab}`; });
  $$('#tabbar [data-tab]').forEach((b) => b.classList.toggle('on', b.dataset.tab === tab));
  if (tab === 'mine') loadMine();
  if (tab === 'tasks') loadTasks();
  if (tab === 'me') renderMe();
  if (tab === 'report') refreshLocation();
}

// --- Queue: every change goes through it ---------------------------------------------------------

const waiting = new Map();

async function refreshQueue() {
  state.queue = await queue.items(me.id).catch(() => []);
  const pending = state.queue.filter((i) => i.state === 'pending').length;
  const failed = state.queue.filter((i) => i.state === 'failed').length;
  $('#pending-count').textContent = String(pending);
  $('#pending-chip').hidden = !pending && !failed;
  $('#pending-chip').classList.toggle('failed', failed > 0 && !pending);
}

queue.subscribe(async ({ type, item, outcome, error }) => {
  if (type === 'done') {
    if (item.kind === 'event') rememberReport(outcome);
    if (item.kind === 'action' && outcome?.order) mergeOrder(outcome.order);
    const wait = waiting.get(item.seq);
    if (wait) wait({ status: 'done', outcome });
    else toast(t('m.synced', { what: item.label }));
  } else if (type === 'failed') {
    const wait = waiting.get(item.seq);
    if (wait) { wait({ status: 'failed', error }); await queue.remove(item.seq); }
    else toast(`${t('m.failed')}：${item.label}：${item.error}`, 'error');
  }
  if (type === 'changed') {
    await refreshQueue();
    renderAll();
  }
});

/** Sends everything queued (on start, when online, after each new item). */
function sync() {
  return queue.flush(me.id);
}

/** Queues `item`, sends the queue, and says what became of the item: done, queued or failed. */
async function submit(item) {
  const stored = await queue.enqueue({ user: me.id, ...item });
  await refreshQueue();
  renderAll();
  const result = new Promise((resolve) => waiting.set(stored.seq, resolve));
  // A connection that hangs leaves the item queued after a while; it is sent when it can be.
  const outcome = await Promise.race([
    result,
    sync().then(() => ({ status: 'queued' })),
    new Promise((resolve) => setTimeout(() => resolve({ status: 'queued' }), 15000)),
  ]);
  waiting.delete(stored.seq);
  // The session ended (401): the page is on its way to login; the item waits in the queue.
  if (!session()) return { status: 'expired' };
  if (outcome.status === 'queued') toast(t(item.kind === 'event' ? 'm.report.queued' : 'm.queued'));
  if (outcome.status === 'failed') toast(errorText(outcome.error), 'error');
  await refreshQueue();
  renderAll();
  return outcome;
}

function pendingFor(orderId) {
  return state.queue.filter((i) => i.kind === 'action' && i.orderId === orderId && i.state === 'pending');
}

/** The status an order will have once its queued actions land. */
function shownStatus(order) {
  const next = { accept: 'accepted', start: 'in_progress', resolve: 'resolved', callback: 'callback' };
  return pendingFor(order.id).reduce((s, i) => next[i.action] || s, order.status);
}

function mergeOrder(order) {
  for (const list of [state.tasks, state.done, state.mine]) {
    const i = list.findIndex((o) => o.id === order.id);
    if (i >= 0) list[i] = { ...list[i], ...order };
  }
  if (state.detail && state.detail.id === order.id) state.detail = { ...state.detail, ...order };
}

function renderAll() {
  if (isGrid) { renderTasks(); if (state.detail) renderDetail(); if (state.tab === 'me') renderMe(); }
  else renderMine();
}

// --- Places: where an order is, in words --------------------------------------------------------

const placeRequests = new Set();
const rerenderPlaces = debounce(() => renderAll(), 200);

function placeOf(order) {
  if (order.address) return order.address;
  const code = order.region_code;
  if (state.places[code]) return state.places[code];
  if (!isGrid) return code === me.region_code && state.region ? state.region.name : '';
  if (!placeRequests.has(code)) {
    placeRequests.add(code);
    api('GET', `/regions/${encodeURIComponent(code)}/ancestors`).then((chain) => {
      const list = Array.isArray(chain) ? chain : chain?.items || [];
      const names = list.filter((r) => !['city', 'district', 'street', 'town'].includes(r.level));
      const grid = names.filter((r) => !['building', 'unit', 'dwelling'].includes(r.level)).map((r) => r.name).join(' ');
      const home = names.filter((r) => ['building', 'unit', 'dwelling'].includes(r.level)).map((r) => r.name).join('');
      state.places[code] = [grid, home].filter(Boolean).join(' · ') || code;
      store(KEY.places, state.places);
      rerenderPlaces();
    }).catch(() => {});
  }
  return '';
}

// --- Grid worker: tasks ------------------------------------------------------------------------

let tasksLoading = null;
async function loadTasks() {
  if (!isGrid) return;
  if (tasksLoading) return tasksLoading;
  tasksLoading = (async () => {
    try {
      const [open, done] = await Promise.all([
        api('GET', `/orders?mine=true&status=${OPEN.join(',')}&limit=100`),
        api('GET', `/orders?mine=true&status=resolved,callback,closed&limit=30`),
      ]);
      reachable(true);
      state.tasks = open.items;
      state.done = done.items;
      store(KEY.tasks, state.tasks);
      store(KEY.done, state.done);
    } catch (error) {
      if (error.status === 0) reachable(false);
      else toast(errorText(error), 'error');
    } finally {
      tasksLoading = null;
    }
    renderTasks();
    if (state.tab === 'me') renderMe();
  })();
  return tasksLoading;
}

function slaTags(order, status) {
  if (FINISHED.includes(status)) {
    return order.resolved_at ? `<span class="sla">${icon('clock')}${esc(label('status', 'resolved'))} ${esc(when(order.resolved_at))}</span>` : '';
  }
  const left = new Date(order.resolve_due_at).getTime() - Date.now();
  const total = new Date(order.resolve_due_at).getTime() - new Date(order.clock_started_at || order.created_at).getTime();
  const cls = left < 0 || order.overdue ? 'bad' : (left < Math.max(total * 0.2, 0) || left < 4 * 3600e3) ? 'warn' : 'ok';
  let html = `<span class="sla ${cls}">${icon('clock')}${esc(t('m.resolve_due'))} ${esc(countdown(order.resolve_due_at))}</span>`;
  if (!order.responded_at && ACCEPTABLE.includes(status)) {
    const rLeft = new Date(order.response_due_at).getTime() - Date.now();
    html += `<span class="sla ${rLeft < 0 ? 'bad' : rLeft < 3600e3 ? 'warn' : ''}">${esc(t('m.response_due'))} ${esc(countdown(order.response_due_at))}</span>`;
  }
  return html;
}

function statusTag(status, queued) {
  const cls = { new: 'warn', dispatched: 'warn', returned: 'bad', accepted: 'info', in_progress: 'info', suspended: '', resolved: 'ok', callback: 'ok', closed: 'ok', terminated: '' }[status] ?? '';
  return `<span class="status ${cls}">${esc(label('status', status))}</span>${queued ? `<span class="status queued-tag">${esc(t('m.pending'))}</span>` : ''}`;
}

function distanceText(order) {
  if (!order.position) return '';
  const d = distance(state.here, order.position);
  return d == null ? '' : t('m.distance', { d: metres(d, t) });
}

function taskCard(order) {
  const status = shownStatus(order);
  const queued = pendingFor(order.id).length > 0;
  const place = placeOf(order);
  const dist = distanceText(order);
  const buttons = [];
  if (ACCEPTABLE.includes(status)) buttons.push(`<button type="button" class="btn main" data-action="accept">${esc(label('action', 'accept'))}</button>`);
  if (status === 'accepted') buttons.push(`<button type="button" class="btn main" data-action="checkin">${icon('pin')}${esc(t('m.checkin'))}</button>`);
  if (RESOLVABLE.includes(status)) buttons.push(`<button type="button" class="btn ${status === 'in_progress' ? 'main' : ''}" data-action="open">${esc(t('m.resolve'))}</button>`);
  if (order.position && !FINISHED.includes(status)) buttons.push(`<a class="btn" href="${esc(geoUri(order.position, order.title))}" data-action="navigate">${icon('nav')}${esc(t('m.navigate'))}</a>`);
  if (!RESOLVABLE.includes(status)) buttons.push(`<button type="button" class="btn" data-action="open">${esc(t('m.detail'))}</button>`);
  return `<article class="task card${queued ? ' queued' : ''}${order.overdue ? ' overdue' : ''}" data-order-id="${order.id}" data-status="${esc(status)}">
    <div class="card-top"><span class="cat">${esc(categoryName(state.taxonomy, order.category))}</span>
      ${order.proactive ? `<span class="flag">${esc(t('m.proactive'))}</span>` : ''}${order.supervised ? `<span class="flag bad">${esc(t('m.supervised'))}</span>` : ''}
      ${order.report_count > 1 ? `<span class="flag">${esc(t('m.reports_merged', { n: order.report_count }))}</span>` : ''}
      <span class="grow"></span>${statusTag(status, queued)}</div>
    <h3 class="card-title" data-action="open">${esc(order.title)}</h3>
    <div class="card-line">${icon('pin')}<span>${esc(place || t('m.place'))}</span>${dist ? `<span class="dist">${esc(dist)}</span>` : ''}</div>
    <div class="card-line sla-line">${slaTags(order, status)}</div>
    <div class="card-actions">${buttons.join('')}</div>
  </article>`;
}

function renderTasks() {
  if (!isGrid) return;
  const list = state.filter === 'open' ? state.tasks : state.done;
  const sorted = list.slice().sort((a, b) => state.filter === 'open'
    ? (b.overdue - a.overdue) || (new Date(a.resolve_due_at) - new Date(b.resolve_due_at))
    : (new Date(b.resolved_at || b.created_at) - new Date(a.resolved_at || a.created_at)));
  $('#tasks').innerHTML = sorted.length ? sorted.map(taskCard).join('')
    : `<div class="empty">${icon('tasks', 'icon big')}<p>${esc(t(state.filter === 'open' ? 'm.tasks.empty' : 'm.tasks.done_empty'))}</p></div>`;
  $('#tasks-summary').textContent = state.filter === 'open' ? t('m.tasks.summary', { n: state.tasks.length, overdue: state.tasks.filter((o) => o.overdue).length }) : '';
  $$('.segmented [data-filter]').forEach((b) => b.classList.toggle('on', b.dataset.filter === state.filter));
}

function findOrder(id) {
  return state.tasks.find((o) => o.id === id) || state.done.find((o) => o.id === id) || (state.detail?.id === id ? state.detail : null);
}

async function accept(order) {
  const out = await submit({ kind: 'action', orderId: order.id, action: 'accept', body: {}, version: order.version, label: `${label('action', 'accept')} · ${order.title}` });
  if (out.status === 'done') toast(t('m.accept.done'));
  afterAction(order.id);
}

async function checkin(order, button) {
  if (button) { button.disabled = true; button.dataset.text = button.innerHTML; button.textContent = t('m.locating'); }
  const here = await locate();
  if (button) { button.disabled = false; button.innerHTML = button.dataset.text; }
  let body = {};
  if (here) {
    state.here = here;
    body = { lon: here.lon, lat: here.lat };
  } else if (!window.confirm(t('m.confirm.nocheckin'))) {
    toast(t('m.checkin.noloc'), 'error');
    return;
  }
  const out = await submit({ kind: 'action', orderId: order.id, action: 'start', body, version: order.version, label: `${t('m.checkin')} · ${order.title}` });
  if (out.status === 'done') {
    const d = out.outcome.entry?.data?.distance_m;
    toast(d != null ? t('m.checkin.done', { d: metres(d, t) }) : label('action', 'start'));
  }
  afterAction(order.id);
}

function afterAction(id) {
  if (!session()) return;
  renderTasks();
  if (state.detail && state.detail.id === id) loadDetail(id);
  loadTasks();
}

function bindTasks() {
  $('.segmented').addEventListener('click', (e) => {
    const b = e.target.closest('[data-filter]');
    if (!b) return;
    state.filter = b.dataset.filter;
    renderTasks();
  });
  $('#tasks').addEventListener('click', (e) => {
    const card = e.target.closest('.task');
    if (!card) return;
    const order = findOrder(Number(card.dataset.orderId));
    const target = e.target.closest('[data-action]');
    const action = target?.dataset.action;
    if (!order || action === 'navigate') return;
    if (action === 'accept') accept(order);
    else if (action === 'checkin') checkin(order, target);
    else { openedHere = true; location.hash = `order/${order.id}`; }
  });
}

// --- Grid worker: one task in full ---------------------------------------------------------------

let resolvePhotos = null;
let openedHere = false; // the detail was opened from the list: back goes back in history

async function openDetail(id) {
  const sheet = $('#detail');
  if (!state.detail || state.detail.id !== id) {
    state.detail = findOrder(id) ? { ...findOrder(id), history: null } : { id, loading: true };
    resolvePhotos = null;
    renderDetail();
  }
  sheet.hidden = false;
  document.body.classList.add('sheet-open');
  loadDetail(id);
}

$('#detail').addEventListener('focusout', () => setTimeout(() => {
  if (detailDirty && !$('#detail').contains(document.activeElement)) renderDetail();
}, 0));

function goBack() {
  if (openedHere) { openedHere = false; history.back(); } else location.replace('#tasks');
}

function closeDetail() {
  $('#detail').hidden = true;
  document.body.classList.remove('sheet-open');
  state.detail = null;
  resolvePhotos = null;
}

async function loadDetail(id) {
  try {
    const order = await api('GET', `/orders/${id}`);
    if (!state.detail || state.detail.id !== id) return;
    state.detail = order;
    if (order.event_id && !order.evidence) {
      api('GET', `/events/${order.event_id}`).then((ev) => {
        if (state.detail?.id === id) { state.detail.evidence = ev.evidence || []; renderDetail(); }
      }).catch(() => {});
    }
    renderDetail();
  } catch (error) {
    if (error.status !== 0) toast(errorText(error), 'error');
  }
}

function thumbs(ids) {
  return ids?.length ? `<div class="thumbs">${ids.map((m) => `<div class="thumb"><img data-media="${esc(m)}" alt=""></div>`).join('')}</div>` : '';
}

function hydrateMedia(root) {
  $$('img[data-media]', root).forEach((img) => {
    if (img.src) return;
    mediaUrl(img.dataset.media).then((url) => { img.src = url; }).catch(() => img.closest('.thumb')?.classList.add('broken'));
  });
}

function historyItem(e) {
  const pos = e.data?.position;
  const extra = [];
  if (e.data?.distance_m != null) extra.push(t('m.checkin.at', { d: metres(e.data.distance_m, t) }));
  else if (pos) extra.push(t('m.checkin'));
  if (e.data?.satisfaction) extra.push(`${label('satisfaction', e.data.satisfaction)}`);
  const unit = e.to_unit && e.action === 'dispatch' ? ` → ${e.to_unit.name}` : '';
  return `<li class="h-item"><div class="h-dot"></div><div class="h-body">
    <div class="h-head"><b>${esc(label('action', e.action))}${esc(unit)}</b><span class="muted">${esc(when(e.at))}</span></div>
    ${e.actor ? `<div class="muted small">${esc(label('role', e.actor.role))} ${esc(e.actor.username)}</div>` : ''}
    ${e.note ? `<div>${esc(e.note)}</div>` : ''}${e.data?.result ? `<div>${esc(e.data.result)}</div>` : ''}
    ${extra.length ? `<div class="small accent">${esc(extra.join(' · '))}</div>` : ''}
    ${thumbs(e.attachments)}</div></li>`;
}

let detailDirty = false;

function renderDetail() {
  const order = state.detail;
  const sheet = $('#detail');
  if (!order) return;
  // Never redraw under someone typing: redraw when they leave the field.
  const active = document.activeElement;
  if (active && sheet.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) { detailDirty = true; return; }
  detailDirty = false;
  const keepResult = $('#result', sheet)?.value;
  const keepNote = $('#note', sheet)?.value;
  if (order.loading) {
    sheet.innerHTML = `<header class="sheet-bar"><button type="button" class="back" data-action="back">${icon('back')}</button><h2>${esc(t('m.order'))}</h2></header><div class="sheet-body"><p class="muted">${esc(t('loading'))}</p></div>`;
    $('[data-action=back]', sheet).addEventListener('click', goBack);
    return;
  }
  const status = shownStatus(order);
  const queued = pendingFor(order.id);
  const dist = distanceText(order);
  const place = placeOf(order);
  const actions = [];
  if (ACCEPTABLE.includes(status)) actions.push(`<button type="button" class="btn main wide" data-action="accept">${esc(label('action', 'accept'))}</button>`);
  if (status === 'accepted') actions.push(`<button type="button" class="btn main wide" data-action="checkin">${icon('pin')}${esc(t('m.checkin'))}</button>`);
  const resolveForm = RESOLVABLE.includes(status) ? `
    <form id="resolve-form" class="panel form" novalidate>
      <h3>${esc(t('m.result'))}</h3>
      <textarea id="result" rows="4" data-draft="result-${order.id}" placeholder="${esc(t('m.result.placeholder'))}"></textarea>
      <div class="photo-field">
        <label class="photo-add" for="photo">${icon('camera')}<span>${esc(t('m.photo.add'))}</span><span class="photo-count"></span></label>
        <input type="file" id="photo" accept="image/*" capture="environment" multiple>
        <div class="thumbs" id="photo-preview"></div>
      </div>
      <button type="submit" class="btn main wide" data-action="resolve">${esc(t('m.resolve'))}</button>
    </form>` : '';
  const commentForm = !['closed', 'terminated'].includes(status) ? `
    <form id="comment-form" class="panel form" novalidate>
      <h3>${esc(t('m.comment'))}</h3>
      <textarea id="note" rows="2" data-draft="note-${order.id}" placeholder="${esc(t('m.comment.placeholder'))}"></textarea>
      <button type="submit" class="btn wide" data-action="comment">${esc(t('m.comment'))}</button>
    </form>` : '';
  sheet.innerHTML = `
    <header class="sheet-bar"><button type="button" class="back" data-action="back" aria-label="${esc(t('back'))}">${icon('back')}</button>
      <h2>${esc(t('m.order'))} · ${esc(t('m.order_no', { id: order.id }))}</h2></header>
    <div class="sheet-body">
      <div class="panel task-head" data-order-id="${order.id}">
        <div class="card-top"><span class="cat">${esc(categoryName(state.taxonomy, order.category))}</span><span class="grow"></span>${statusTag(status, queued.length > 0)}</div>
        <h3 class="detail-title">${esc(order.title)}</h3>
        <div class="card-line sla-line">${slaTags(order, status)}</div>
        ${queued.length ? `<div class="queued-note">${esc(t('m.pending'))}：${queued.map((i) => esc(i.label)).join('；')}</div>` : ''}
        <dl class="facts">
          <dt>${esc(t('m.description'))}</dt><dd>${esc(order.description || '—')}</dd>
          <dt>${esc(t('m.place'))}</dt><dd>${esc(place || order.region_code)}</dd>
          <dt>${esc(t('m.source'))}</dt><dd>${esc(label('source', order.source))}${order.report_count > 1 ? ` · ${esc(t('m.reports_merged', { n: order.report_count }))}` : ''}</dd>
          <dt>${esc(t('m.created'))}</dt><dd>${esc(when(order.created_at))}</dd>
        </dl>
        ${order.evidence?.length ? `<h4>${esc(t('m.evidence'))}</h4>${thumbs(order.evidence)}` : ''}
      </div>
      <div class="panel nav-panel">
        <div><h3>${esc(t('m.navigate.title'))}</h3><div class="muted small">${order.position ? esc(dist || t('m.distance.unknown')) : esc(t('m.navigate.nopos'))}</div></div>
        ${order.position ? `<a class="btn main" id="navigate" href="${esc(geoUri(order.position, order.title))}">${icon('nav')}${esc(t('m.navigate.open'))}</a>` : ''}
      </div>
      ${actions.length ? `<div class="panel actions">${actions.join('')}</div>` : ''}
      ${resolveForm}
      ${commentForm}
      <div class="panel"><h3>${esc(t('m.history'))}</h3>
        ${order.history ? `<ol class="timeline">${order.history.slice().reverse().map(historyItem).join('')}</ol>` : `<p class="muted">${esc(t('loading'))}</p>`}
      </div>
    </div>`;
  if (keepResult && $('#result', sheet)) $('#result', sheet).value = keepResult;
  if (keepNote && $('#note', sheet)) $('#note', sheet).value = keepNote;
  keepDrafts(sheet);
  hydrateMedia(sheet);
  $('[data-action=back]', sheet).addEventListener('click', goBack);
  $('[data-action=accept]', sheet)?.addEventListener('click', () => accept(order));
  $('[data-action=checkin]', sheet)?.addEventListener('click', (e) => checkin(order, e.currentTarget));
  const photoInput = $('#photo', sheet);
  if (photoInput) {
    const previous = resolvePhotos?.photos || [];
    resolvePhotos = photoPicker(photoInput, $('#photo-preview', sheet), t);
    restorePhotos(previous);
  }
  $('#resolve-form', sheet)?.addEventListener('submit', async (e) => {
    e.preventDefault();
    const result = $('#result', sheet).value.trim();
    if (!result) { toast(t('m.resolve.need_result'), 'error'); $('#result', sheet).focus(); return; }
    const button = $('[data-action=resolve]', sheet);
    button.disabled = true;
    const photos = resolvePhotos?.photos || [];
    const out = await submit({ kind: 'action', orderId: order.id, action: 'resolve', body: { result }, photos, version: order.version, label: `${t('m.resolve')} · ${order.title}` });
    button.disabled = false;
    if (out.status !== 'failed') {
      clearDrafts([`result-${order.id}`]);
      if ($('#result', sheet)) $('#result', sheet).value = '';
      resolvePhotos?.clear();
      if (out.status === 'done') toast(t('m.resolve.done'));
    }
    afterAction(order.id);
  });
  $('#comment-form', sheet)?.addEventListener('submit', async (e) => {
    e.preventDefault();
    const note = $('#note', sheet).value.trim();
    if (!note) { toast(t('m.comment.need'), 'error'); return; }
    const out = await submit({ kind: 'action', orderId: order.id, action: 'comment', body: { note }, version: order.version, label: `${t('m.comment')} · ${order.title}` });
    if (out.status !== 'failed') {
      clearDrafts([`note-${order.id}`]);
      if ($('#note', sheet)) $('#note', sheet).value = '';
      if (out.status === 'done') toast(t('m.done'));
    }
    afterAction(order.id);
  });
}

/** Puts photos picked before a re-render back into the new picker. */
function restorePhotos(photos) {
  if (!photos.length) return;
  const transfer = new DataTransfer();
  photos.forEach((p, i) => transfer.items.add(p instanceof File ? p : new File([p], `photo-${i}.jpg`, { type: p.type || 'image/jpeg' })));
  const target = $('#photo');
  target.files = transfer.files;
  target.dispatchEvent(new Event('change'));
}

// --- Grid worker: me ---------------------------------------------------------------------------

function queueList() {
  const pending = state.queue.filter((i) => i.state === 'pending');
  const failed = state.queue.filter((i) => i.state === 'failed');
  return `<div class="panel">
    <div class="section-head"><h3>${esc(t('m.pending.title'))}</h3>${pending.length ? `<button type="button" class="link-button" data-queue="sync">${esc(t('m.pending.sync'))}</button>` : ''}</div>
    ${!pending.length && !failed.length ? `<p class="muted small">${esc(t('m.pending.none'))}</p>` : ''}
    <ul class="queue">${pending.map((i) => `<li class="queued" data-seq="${i.seq}"><span class="status queued-tag">${esc(t('m.pending'))}</span>${esc(i.label)}<span class="muted small"> ${esc(when(new Date(i.createdAt)))}</span></li>`).join('')}
    ${failed.map((i) => `<li class="failed" data-seq="${i.seq}"><span class="status bad">${esc(t('m.failed'))}</span>${esc(i.label)}<div class="error small">${esc(i.error || '')}</div>
      <div class="row"><button type="button" class="btn small" data-queue="retry">${esc(t('m.retry'))}</button><button type="button" class="btn small" data-queue="discard">${esc(t('m.discard'))}</button></div></li>`).join('')}</ul>
  </div>`;
}

function bindQueueList(root) {
  root.addEventListener('click', async (e) => {
    const b = e.target.closest('[data-queue]');
    if (!b) return;
    const seq = Number(b.closest('[data-seq]')?.dataset.seq);
    if (b.dataset.queue === 'sync') sync();
    if (b.dataset.queue === 'retry') { await queue.retry(seq, me.id); sync(); }
    if (b.dataset.queue === 'discard') await queue.remove(seq);
  });
}

function profileBlock() {
  return `<div class="panel profile"><div class="avatar">${esc((me.display_name || me.username).replace(/^.*\s/, '').slice(0, 1))}</div>
    <div><div class="profile-name">${esc(me.display_name)}</div><div class="muted small">${esc(label('role', me.role))} · ${esc(me.username)}</div>
    <div class="muted small">${esc(t(isGrid ? 'm.me.grid' : 'm.me.dwelling'))}：${esc(state.region?.name || me.region_code || '—')}</div></div></div>`;
}

function settingsBlock() {
  return `<div class="panel settings"><button type="button" class="btn wide" data-set="lang">${esc(t('lang.switch'))}</button>
    <button type="button" class="btn wide danger" data-set="logout">${esc(t('logout'))}</button></div>`;
}

function bindSettings(root) {
  root.addEventListener('click', (e) => {
    const b = e.target.closest('[data-set]');
    if (b?.dataset.set === 'lang') $('#lang-slot .lang-switch')?.click();
    if (b?.dataset.set === 'logout') logout();
  });
}

function renderMe() {
  if (!isGrid) return;
  const today = new Date().toDateString();
  const resolvedToday = state.done.filter((o) => o.resolved_at && new Date(o.resolved_at).toDateString() === today).length;
  const patrols = state.mine.filter((o) => state.reportIds.includes(o.id));
  $('#tab-me').innerHTML = `${profileBlock()}
    <div class="stats"><div><b>${state.tasks.length}</b><span>${esc(t('m.me.open'))}</span></div>
      <div><b class="${state.tasks.some((o) => o.overdue) ? 'bad' : ''}">${state.tasks.filter((o) => o.overdue).length}</b><span>${esc(t('m.me.overdue'))}</span></div>
      <div><b>${resolvedToday}</b><span>${esc(t('m.me.today'))}</span></div></div>
    ${queueList()}
    <div class="panel"><h3>${esc(t('m.me.patrols'))}</h3>${patrols.length ? `<div class="cards">${patrols.map(reportCard).join('')}</div>` : `<p class="muted small">${esc(t('m.me.patrols.empty'))}</p>`}</div>
    ${settingsBlock()}`;
  hydrateMedia($('#tab-me'));
}

// --- Report form (patrol or resident) ------------------------------------------------------------

let reportPhotos = null;
let reportPlace = null;

function categoryOptions() {
  return `<option value="">${esc(t('m.category.choose'))}</option>
    ${state.taxonomy.map((c) => `<option value="${esc(c.code)}">${esc(categoryName(state.taxonomy, c.code))}</option>`).join('')}`;
}

function renderReportForm() {
  const severities = ['minor', 'major', 'critical', 'info'];
  $('#tab-report').innerHTML = `
    <div class="report-hero"><h2>${esc(t(isGrid ? 'm.report.patrol' : 'm.report.title'))}</h2><p>${esc(t(isGrid ? 'm.report.intro.grid' : 'm.report.intro.resident'))}</p></div>
    <form id="report-form" class="panel form" novalidate>
      <label for="category">${esc(t('m.category'))}<i class="req">*</i></label>
      <select id="category" data-draft="report-category" required>${categoryOptions()}</select>
      <label for="title">${esc(t('m.subject'))}</label>
      <input id="title" data-draft="report-title" maxlength="100" placeholder="${esc(t('m.subject.placeholder'))}">
      <label for="description">${esc(t('m.details'))}</label>
      <textarea id="description" rows="4" data-draft="report-description" maxlength="2000" placeholder="${esc(t('m.details.placeholder'))}"></textarea>
      ${isGrid ? `<label>${esc(t('m.severity'))}</label><div class="chips" id="severity" role="radiogroup">${severities.map((s, i) => `<label class="chip"><input type="radio" name="severity" value="${s}"${i === 0 ? ' checked' : ''}><span>${esc(label('severity', s))}</span></label>`).join('')}</div>` : ''}
      <label>${esc(t('m.photos'))}</label>
      <div class="photo-field">
        <label class="photo-add" for="report-photo">${icon('camera')}<span>${esc(t('m.photo.add'))}</span><span class="photo-count"></span></label>
        <input type="file" id="report-photo" accept="image/*" capture="environment" multiple>
        <div class="thumbs" id="report-preview"></div>
      </div>
      <label>${esc(t('m.location'))}</label>
      <div class="location" id="report-location"><span class="loc-text">${esc(t('m.locating'))}</span><button type="button" class="link-button" id="relocate">${icon('refresh')}${esc(t('m.location.retry'))}</button></div>
      <button type="submit" class="btn main wide submit">${esc(t('m.submit.report'))}</button>
    </form>`;
  reportPhotos = photoPicker($('#report-photo'), $('#report-preview'), t);
  keepDrafts($('#report-form'));
  $('#relocate').addEventListener('click', () => refreshLocation(true));
  $('#report-form').addEventListener('submit', sendReport);
}

/** Where a report will be placed: the phone's position, and the registered node when near it. */
async function refreshLocation(force = false) {
  const box = $('#report-location .loc-text');
  if (!box) return;
  if (!force && reportPlace && Date.now() - reportPlace.at < 60000) { showPlace(); return; }
  box.textContent = t('m.locating');
  const here = await locate();
  if (here) state.here = here;
  reportPlace = { at: Date.now(), here };
  showPlace();
}

/** The registered node (the grid worker's grid, the resident's home) when the report is near it or has no position. */
function reportRegion() {
  const here = reportPlace?.here;
  if (!here) return me.region_code;
  const home = state.region?.position;
  return home && distance(here, home) < (isGrid ? 1500 : 500) ? me.region_code : null;
}

function showPlace() {
  const box = $('#report-location .loc-text');
  if (!box || !reportPlace) return;
  const name = state.region?.name || me.region_code;
  const parts = [];
  if (reportPlace.here) parts.push(t('m.location.here', { acc: Math.round(reportPlace.here.accuracy || 0) }));
  else parts.push(t('m.location.none', { fallback: t(isGrid ? 'm.location.mygrid' : 'm.location.registered') }));
  if (reportRegion()) parts.push(t(isGrid ? 'm.location.grid' : 'm.location.home', { name }));
  box.textContent = parts.join('；');
  box.parentElement.classList.toggle('ok', !!reportPlace.here);
}

async function sendReport(e) {
  e.preventDefault();
  const form = e.currentTarget;
  const category = $('#category').value;
  let title = $('#title').value.trim();
  const description = $('#description').value.trim();
  if (!category) { toast(t('m.report.need_category'), 'error'); $('#category').focus(); return; }
  if (!title && !description) { toast(t('m.report.need_text'), 'error'); $('#title').focus(); return; }
  if (!title) title = description.slice(0, 30);
  if (!reportPlace) await refreshLocation();
  const body = { category, title, description };
  if (isGrid) {
    body.source = 'grid_patrol';
    body.severity = form.querySelector('input[name=severity]:checked')?.value || 'minor';
  }
  if (reportPlace?.here) { body.lon = reportPlace.here.lon; body.lat = reportPlace.here.lat; }
  if (!state.region) await loadRegion();
  const region = reportRegion();
  if (region) body.region_code = region;
  const button = form.querySelector('.submit');
  button.disabled = true;
  const out = await submit({ kind: 'event', body, photos: reportPhotos.photos, label: `${t(isGrid ? 'm.report.patrol' : 'm.report.title')} · ${title}` });
  button.disabled = false;
  if (out.status === 'failed') return;
  clearDrafts(['report-category', 'report-title', 'report-description']);
  if (out.status === 'expired') return;
  form.reset();
  reportPhotos.clear();
  if (out.status === 'done') {
    const { order, merged } = out.outcome;
    if (order) toast(merged ? t('m.report.merged', { id: order.id, n: order.report_count }) : t('m.report.ok', { id: order.id }));
    else toast(t('m.done'));
  }
  if (!isGrid) location.hash = 'mine';
}

function rememberReport(outcome) {
  const order = outcome?.order;
  if (!order) return;
  if (!state.reportIds.includes(order.id)) state.reportIds.unshift(order.id);
  store(KEY.reports, state.reportIds);
  state.mine = [order, ...state.mine.filter((o) => o.id !== order.id)];
  store(KEY.mine, state.mine);
}

// --- Reports: residents' (我的反映) and grid workers' patrols ----------------------------------------

let mineLoading = null;
async function loadMine() {
  if (mineLoading) return mineLoading;
  mineLoading = (async () => {
    const updated = $('#mine-updated');
    if (updated && !isGrid) updated.textContent = t('m.refreshing');
    try {
      let orders = [];
      let listed = false;
      if (!isGrid) {
        try {
          orders = (await api('GET', '/orders?limit=50')).items || [];
          listed = true;
        } catch (error) {
          if (error.status === 0) throw error;
        }
      }
      const missing = state.reportIds.filter((id) => !orders.some((o) => o.id === id));
      const fetched = await Promise.all(missing.slice(0, 40).map((id) => api('GET', `/orders/${id}`).catch((error) => {
        if (error.status === 0) throw error;
        return null;
      })));
      orders = orders.concat(fetched.filter(Boolean));
      if (listed) orders.forEach((o) => { if (!state.reportIds.includes(o.id)) state.reportIds.push(o.id); });
      orders.sort((a, b) => new Date(b.created_at) - new Date(a.created_at));
      state.mine = orders.map(({ history, allowed_actions, ...o }) => ({ ...o, allowed_actions }));
      store(KEY.mine, state.mine);
      store(KEY.reports, state.reportIds);
      reachable(true);
      if (updated) updated.textContent = t('m.updated', { t: when(new Date()) });
    } catch (error) {
      if (error.status === 0) reachable(false);
      if (updated) updated.textContent = error.status === 0 ? '' : errorText(error);
    } finally {
      mineLoading = null;
    }
    renderAll();
  })();
  return mineLoading;
}

function steps(status) {
  const order = ['submitted', 'accepted', 'handling', 'resolved', 'rated'];
  const reached = { new: 0, dispatched: 1, returned: 1, accepted: 1, suspended: 2, in_progress: 2, resolved: 3, callback: 4, closed: 4, terminated: 0 }[status] ?? 0;
  return `<ol class="steps">${order.map((s, i) => `<li class="${i <= reached ? 'on' : ''}"><span></span>${esc(t(`m.step.${s}`))}</li>`).join('')}</ol>`;
}

function reportCard(order) {
  const status = shownStatus(order);
  const queued = pendingFor(order.id).length > 0;
  const rating = !isGrid && status === 'resolved' && !queued;
  return `<article class="report card${queued ? ' queued' : ''}" data-order-id="${order.id}" data-status="${esc(status)}">
    <div class="card-top"><span class="cat">${esc(categoryName(state.taxonomy, order.category))}</span><span class="grow"></span>${statusTag(status, queued)}</div>
    <h3 class="card-title">${esc(order.title)}</h3>
    <div class="muted small">${esc(t('m.order_no', { id: order.id }))} · ${esc(when(order.created_at))}${placeOf(order) ? ` · ${esc(placeOf(order))}` : ''}</div>
    ${status !== 'terminated' ? steps(status) : ''}
    ${order.result ? `<div class="result"><b>${esc(t('m.result.show'))}</b><p>${esc(order.result)}</p>${thumbs(order.result_media)}</div>` : ''}
    ${order.callback && !queued ? `<div class="rated">${esc(t('m.rate.yours', { s: label('satisfaction', order.callback.satisfaction) }))}${order.callback.solved ? '' : ` · ${esc(t('m.rate.unsolved'))}`}</div>` : ''}
    ${rating ? `<div class="rate" data-solved="true"><b>${esc(t('m.rate.title'))}</b>
      <div class="chips solved"><button type="button" class="chip on" data-solved="true">${esc(t('m.rate.solved'))}</button><button type="button" class="chip" data-solved="false">${esc(t('m.rate.unsolved'))}</button></div>
      <input class="rate-note" data-draft="rate-note-${order.id}" placeholder="${esc(t('m.rate.note'))}">
      <div class="rate-buttons">${['satisfied', 'basically_satisfied', 'unsatisfied'].map((s) => `<button type="button" class="btn ${s === 'satisfied' ? 'main' : ''}" data-satisfaction="${s}">${esc(label('satisfaction', s))}</button>`).join('')}</div>
    </div>` : ''}
  </article>`;
}

function queuedReportCard(item) {
  return `<article class="report card queued" data-seq="${item.seq}">
    <div class="card-top"><span class="cat">${esc(categoryName(state.taxonomy, item.body.category))}</span><span class="grow"></span><span class="status ${item.state === 'failed' ? 'bad' : 'queued-tag'}">${esc(t(item.state === 'failed' ? 'm.failed' : 'm.pending'))}</span></div>
    <h3 class="card-title">${esc(item.body.title)}</h3>
    <div class="muted small">${esc(when(new Date(item.createdAt)))}${item.photos?.length ? ` · ${esc(t('m.photo.count', { n: item.photos.length }))}` : ''}</div>
    ${item.error ? `<div class="error small">${esc(item.error)}</div><div class="row"><button type="button" class="btn small" data-queue="retry">${esc(t('m.retry'))}</button><button type="button" class="btn small" data-queue="discard">${esc(t('m.discard'))}</button></div>` : ''}
  </article>`;
}

function renderMine() {
  if (isGrid) return;
  const root = $('#my-reports');
  const active = document.activeElement;
  if (active && root.contains(active) && active.classList.contains('rate-note')) return; // typing: do not redraw under the user
  const queuedReports = state.queue.filter((i) => i.kind === 'event');
  root.innerHTML = queuedReports.map(queuedReportCard).join('') + state.mine.map(reportCard).join('')
    || `<div class="empty">${icon('list', 'icon big')}<p>${esc(t('m.mine.empty'))}</p></div>`;
  keepDrafts(root);
  hydrateMedia(root);
  $('#resident-me').innerHTML = `${profileBlock()}${state.queue.some((i) => i.kind === 'action') ? queueList() : ''}${settingsBlock()}`;
}

function bindMine() {
  const root = $('#my-reports');
  root.addEventListener('click', async (e) => {
    const card = e.target.closest('.report');
    if (!card) return;
    const solved = e.target.closest('[data-solved]:not(.rate)');
    if (solved) {
      const rate = card.querySelector('.rate');
      rate.dataset.solved = solved.dataset.solved;
      rate.querySelectorAll('.solved .chip').forEach((c) => c.classList.toggle('on', c === solved));
      return;
    }
    const button = e.target.closest('[data-satisfaction]');
    if (!button) return;
    const order = state.mine.find((o) => o.id === Number(card.dataset.orderId));
    if (!order) return;
    const rate = card.querySelector('.rate');
    const note = rate.querySelector('.rate-note').value.trim();
    const body = { solved: rate.dataset.solved === 'true', satisfaction: button.dataset.satisfaction };
    if (note) body.note = note;
    card.querySelectorAll('[data-satisfaction]').forEach((b) => { b.disabled = true; });
    const out = await submit({ kind: 'action', orderId: order.id, action: 'callback', body, version: order.version, label: `${label('action', 'callback')} · ${order.title}` });
    if (out.status !== 'failed') clearDrafts([`rate-note-${order.id}`]);
    if (out.status === 'done') toast(t('m.rate.thanks'));
    renderMine();
    loadMine();
  });
  bindQueueList(root);
  bindQueueList($('#resident-me'));
  bindSettings($('#resident-me'));
  $('#mine-refresh').addEventListener('click', () => loadMine());
  // Residents have no live stream: refresh when the app comes back to the front.
  const again = () => { if (document.visibilityState === 'visible' && state.tab === 'mine') loadMine(); };
  document.addEventListener('visibilitychange', again);
  window.addEventListener('focus', again);
}

// --- Pull to refresh -----------------------------------------------------------------------------

function pullToRefresh() {
  let startY = null;
  const pull = $('#pull');
  window.addEventListener('touchstart', (e) => { startY = window.scrollY <= 0 && !state.detail ? e.touches[0].clientY : null; }, { passive: true });
  window.addEventListener('touchmove', (e) => {
    if (startY == null) return;
    const dy = Math.max(0, Math.min(90, e.touches[0].clientY - startY));
    pull.style.height = `${dy}px`;
    pull.textContent = dy > 60 ? t('m.refreshing') : '';
  }, { passive: true });
  window.addEventListener('touchend', () => {
    if (startY == null) return;
    const go = parseFloat(pull.style.height) > 60;
    pull.style.height = '0';
    pull.textContent = '';
    startY = null;
    if (go) refresh();
  });
}

function refresh() {
  if (state.tab === 'tasks') loadTasks();
  if (state.tab === 'mine' || state.tab === 'me') loadMine();
}

// --- Start -------------------------------------------------------------------------------------

async function loadBasics() {
  try {
    const taxonomy = await api('GET', '/taxonomy');
    const changed = JSON.stringify(taxonomy) !== JSON.stringify(state.taxonomy);
    state.taxonomy = taxonomy;
    store(KEY.taxonomy, taxonomy);
    if (changed) {
      // Only the category list changes: the form stays as it is, so nothing being typed is lost.
      const select = $('#category');
      if (select) {
        const chosen = select.value;
        select.innerHTML = categoryOptions();
        select.value = chosen;
        keepDrafts($('#report-form')); // a category kept from before a re-login now has its option
      }
      renderAll();
    }
  } catch (_) { /* offline: the cached taxonomy serves */ }
  await loadRegion();
}

async function loadRegion() {
  try {
    const region = await api('GET', `/regions/${encodeURIComponent(me.region_code)}`);
    state.region = { code: region.code, name: region.name, position: region.position };
    store(KEY.region, state.region);
    showWho();
    showPlace();
  } catch (_) { /* offline or not visible */ }
}

function watchPosition() {
  if (!navigator.geolocation || !isGrid) return;
  navigator.geolocation.watchPosition((p) => {
    const here = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy };
    const moved = distance(state.here, here);
    state.here = here;
    if (moved == null || moved > 20) renderAll();
  }, () => {}, { enableHighAccuracy: true, maximumAge: 30000, timeout: 20000 });
}

shell();
renderReportForm();
if (isGrid) {
  bindTasks();
  bindQueueList($('#tab-me'));
  bindSettings($('#tab-me'));
  const reload = debounce(() => { loadTasks(); if (state.detail) loadDetail(state.detail.id); }, 600);
  follow({ topics: ['order.'], onMessage: reload, onLagged: reload, onState: (s) => { if (s === 'online') reload(); } });
  watchPosition();
} else {
  bindMine();
  // The stream sends a resident only the orders they asked for: dispatch, result and callback show as they happen.
  const reload = debounce(() => loadMine(), 600);
  follow({ topics: ['order.'], onMessage: reload, onLagged: reload, onState: (s) => { if (s === 'online') reload(); } });
}
pullToRefresh();
route();
await refreshQueue();
renderAll();
loadBasics().then(() => { if (isGrid) loadMine(); });
sync();
setInterval(() => { if (navigator.onLine && state.queue.some((i) => i.state === 'pending')) sync(); }, 20000);
setInterval(() => renderAll(), 60000);
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/mobile/sw.js', { scope: '/mobile/' }).catch(() => {});
