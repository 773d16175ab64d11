// The work-order queue (工单) and an order's detail: filters, SLA countdowns, every lifecycle
// action with the inputs it needs, the dispatch target picker, history, map and evidence.
import { api, get, keepDrafts, clearDrafts, toast, upload, mediaUrl, ApiFailure } from '/shared/api.js';
import { t, label, when } from '/shared/i18n.js';
import {
  state, loadPage, listFootHtml, wireList, wireSegments, esc, regionHtml, categoryName, orgName, unitName, unitKey, isMyUnit, actorText, statusTag, slaHtml,
  failureText, showFormError, emptyHtml, idempotencyKey, go, setRoute, rememberRegion, tickCountdowns,
} from './common.js';
import { drawPlace } from './map.js';

const STATUS_GROUPS = {
  active: 'new,dispatched,returned,accepted,in_progress,suspended,resolved,callback', '': '', open: 'new,dispatched,returned', working: 'accepted,in_progress,suspended', to_callback: 'resolved', called: 'callback', done: 'closed,terminated',
};
const SOURCES = ['hotline_12345', 'resident_app', 'open311', 'grid_patrol', 'camera_ai', 'iot', 'analytics'];
const PAGE = 50;
const ORDER_OF_ACTIONS = ['dispatch', 'accept', 'contact', 'start', 'resolve', 'callback', 'close', 'reopen', 'transfer', 'request_extension',
  'approve_extension', 'reject_extension', 'suspend', 'resume', 'return', 'supervise', 'terminate', 'comment'];
const PRIMARY = new Set(['dispatch', 'accept', 'start', 'resolve', 'callback', 'close', 'approve_extension', 'resume']);
const DANGER = new Set(['return', 'terminate', 'reject_extension', 'suspend']);
// Inputs each action asks for; `!` marks what the API requires.
const FORMS = {
  dispatch: ['to!', 'note'], transfer: ['to!', 'note'], accept: ['note'], contact: ['note'], start: ['note'],
  return: ['reason!'], request_extension: ['until!', 'reason!'], approve_extension: ['note'], reject_extension: ['reason!'],
  suspend: ['reason!'], resume: ['note'], resolve: ['result!', 'photos'], callback: ['solved!', 'satisfaction!', 'note'],
  reopen: ['note'], close: ['note'], terminate: ['reason!'], supervise: ['note'], comment: ['note!', 'photos'],
};
const WHISTLE_ROLES = new Set(['community_secretary', 'street_dispatcher', 'street_leader', 'leader']);
// Who may take which action (docs/WORKFLOW.md, "Who acts"): the state allows `allowed_actions`;
// the console offers those the caller may take. Roles bound to no unit see all; the API decides.
const HOLDER_ONLY = new Set(['dispatch', 'transfer', 'accept', 'contact', 'start', 'return', 'suspend', 'resume', 'resolve', 'request_extension']);
const ROLE_ONLY = { supervise: ['leader', 'street_leader'], terminate: ['leader', 'district_dispatcher'] };

function mayAct(action, o) {
  if (!state.unit) return true;
  if (HOLDER_ONLY.has(action)) return isMyUnit(o.holder);
  if (ROLE_ONLY[action]) return ROLE_ONLY[action].includes(state.user.role);
  if (action === 'approve_extension' || action === 'reject_extension') {
    return ['leader', 'district_dispatcher'].includes(state.user.role) || (!isMyUnit(o.holder) && o.chain.some(isMyUnit));
  }
  return true;
}

const q = {
  root: null, list: null, detailEl: null, filters: null,
  items: new Map(), ids: [], cursor: null, loaded: false, loading: false, seq: 0, buffer: [],
  selected: null, detail: null, action: null, dseq: 0, ancestors: new Map(), incidentEvents: new Map(),
};

export function init(root) {
  q.root = root;
  q.filters = { scope: state.unit ? 'mine' : 'all', status: 'active', category: '', source: '', overdue: false, supervised: false };
  const categories = [...state.taxonomy.values()].map((c) => `<option value="${esc(c.code)}">${esc(categoryName(c.code))}</option>`).join('');
  root.innerHTML = `
  <div class="list-pane">
    <div class="pane-head">
      <div class="head-row">
        <div class="seg" role="tablist">
          ${state.unit ? `<button type="button" data-scope="mine">${esc(t('q.mine'))}</button>` : ''}
          <button type="button" data-scope="all">${esc(t('q.all'))}</button>
          ${state.unit ? `<button type="button" data-scope="escalated">${esc(t('q.escalated'))}</button>` : ''}
        </div>
        <button type="button" class="icon-btn refresh" title="${esc(t('refresh'))}">↻</button>
      </div>
      <div class="filters">
        <select name="status" aria-label="${esc(t('q.status'))}">
          ${Object.keys(STATUS_GROUPS).map((k) => `<option value="${k}">${esc(`${t('q.status')}：${t(k ? `q.${k}` : 'q.any')}`)}</option>`).join('')}
        </select>
        <select name="category" aria-label="${esc(t('q.category'))}"><option value="">${esc(t('q.category'))}：${esc(t('q.any'))}</option>${categories}</select>
        <select name="source" aria-label="${esc(t('q.source'))}"><option value="">${esc(t('q.source'))}：${esc(t('q.any'))}</option>${SOURCES.map((s) => `<option value="${s}">${esc(label('source', s))}</option>`).join('')}</select>
        <label class="check"><input type="checkbox" name="overdue"> ${esc(t('q.overdue'))}</label>
        <label class="check"><input type="checkbox" name="supervised"> ${esc(t('q.supervised'))}</label>
      </div>
    </div>
    <div id="queue" class="list" role="list"></div>
    ${listFootHtml()}
  </div>
  <div id="order-detail" class="detail-pane"><div class="placeholder">${esc(t('q.pick'))}</div></div>`;
  q.list = root.querySelector('#queue');
  q.detailEl = root.querySelector('#order-detail');
  wireSegments(q, 'scope', () => q.filters.scope, (scope) => { q.filters.scope = scope; }, loadList);
  root.querySelector('.filters').addEventListener('change', (e) => {
    const el = e.target;
    if (!el.name) return;
    q.filters[el.name] = el.type === 'checkbox' ? el.checked : el.value;
    loadList(true);
  });
  const refresh = () => { loadList(true); if (q.selected) openOrder(q.selected, q.action, true); };
  wireList(q, { load: loadList, row: '.order-row', route: (row) => `queue/${row.dataset.orderId}`, refresh });
  // Arrows walk the queue, opening each order in turn.
  q.list.addEventListener('keydown', (e) => {
    const row = e.target.closest('.order-row');
    if (!row) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = e.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling;
      if (next?.classList.contains('order-row')) { next.focus(); go(`queue/${next.dataset.orderId}`); }
    }
  });
}

export async function show(params) {
  if (!q.loaded && !q.loading) loadList(true);
  const id = params[0] ? Number(params[0]) : null;
  const action = params[1] || null;
  if (id && id === q.selected && q.detail) {
    if (action !== q.action) { if (action) openForm(action); else closeForm(); }
  } else if (id) {
    await openOrder(id, action);
  }
  if (!id) { q.selected = null; q.detail = null; markSelected(); q.detailEl.innerHTML = `<div class="placeholder">${esc(t('q.pick'))}</div>`; }
}

export function reload() {
  loadList(true);
  if (q.selected) openOrder(q.selected, q.action, true);
}

// --- The list -------------------------------------------------------------------------------

function loadList(reset) {
  const f = q.filters;
  const params = {
    limit: PAGE, status: STATUS_GROUPS[f.status], category: f.category, source: f.source,
    overdue: f.overdue ? 'true' : '', supervised: f.supervised ? 'true' : '',
  };
  if (f.scope === 'mine') params.mine = 'true';
  if (f.scope === 'escalated') params.escalated_to = unitKey(state.unit);
  return loadPage(q, '/orders', params, reset, { render: renderList, apply: applyLive });
}

function renderList() {
  if (!q.ids.length) q.list.innerHTML = emptyHtml(t('q.none'));
  else q.list.innerHTML = q.ids.map((id) => rowHtml(q.items.get(id))).join('');
  markSelected();
  renderFoot();
}

function renderFoot() {
  q.root.querySelector('.list-foot .count').textContent = `${t('q.loaded', { n: q.ids.length })}${q.cursor ? '' : ` · ${t('q.end')}`}`;
  q.root.querySelector('.list-foot .more').hidden = !q.cursor;
}

function tags(o) {
  const out = [];
  if (o.urgency && o.urgency !== 'ordinary') out.push(`<span class="tag ${o.urgency === 'emergency' ? 'bad' : 'warn'}">${esc(label('urgency', o.urgency))}</span>`);
  if (o.proactive) out.push(`<span class="tag info">${esc(t('o.proactive'))}</span>`);
  if (o.report_count > 1) out.push(`<span class="tag warn" title="${esc(label('action', 'report_merged'))}">${esc(label('action', 'report_merged'))}×${o.report_count}</span>`);
  if (o.supervised) out.push(`<span class="tag bad">${esc(t('o.supervised'))}</span>`);
  if (o.overdue) out.push(`<span class="tag bad">${esc(t('o.overdue'))}</span>`);
  else if (o.response_overdue && !o.responded_at) out.push(`<span class="tag warn">${esc(t('o.response_overdue'))}</span>`);
  if (o.escalated_to) out.push(`<span class="tag bad">${esc(t('o.escalated', { unit: unitName(o.escalated_to) }))}</span>`);
  if (o.extension) out.push(`<span class="tag warn">${esc(t('o.extension'))}</span>`);
  return out.join('');
}

function rowHtml(o) {
  return `<div class="order-row${o.id === q.selected ? ' selected' : ''}${o.overdue ? ' is-overdue' : ''}" data-order-id="${o.id}" data-status="${esc(o.status)}" role="listitem" tabindex="0">
    <div class="r1"><span class="oid">#${o.id}</span><span class="otitle">${esc(o.title || categoryName(o.category))}</span>${statusTag(o.status)}</div>
    <div class="r2"><span>${esc(categoryName(o.category))}</span><span class="dot">·</span>${regionHtml(o.region_code)}<span class="dot">·</span><span class="muted">${esc(label('source', o.source))}</span></div>
    <div class="r3"><span class="holder" title="${esc(t('q.holder'))}">→ ${esc(unitName(o.holder))}</span><span class="row-tags">${tags(o)}</span>${slaHtml(o)}</div>
  </div>`;
}

function markSelected() {
  q.list.querySelectorAll('.order-row').forEach((r) => r.classList.toggle('selected', Number(r.dataset.orderId) === q.selected));
}

function inJurisdiction(code) {
  const j = state.me?.jurisdiction;
  return !j || (code || '').startsWith(j);
}

/** Whether an order belongs in the list under the current filters (for live changes). */
function matches(o) {
  const f = q.filters;
  if (!inJurisdiction(o.region_code)) return false;
  if (f.scope === 'mine' && !isMyUnit(o.holder)) return false;
  if (f.scope === 'escalated' && !isMyUnit(o.escalated_to)) return false;
  if (f.status && !STATUS_GROUPS[f.status].split(',').includes(o.status)) return false;
  if (f.category && o.category !== f.category) return false;
  if (f.source && o.source !== f.source) return false;
  if (f.overdue && !o.overdue) return false;
  if (f.supervised && !o.supervised) return false;
  return true;
}

export function onLive(message) {
  if (!message.topic.startsWith('order.')) return;
  if (!q.loaded) { q.buffer.push(message); return; }
  applyLive(message);
}

function applyLive(message) {
  const { order, entry } = message.payload || {};
  if (!order) return;
  const had = q.items.has(order.id);
  const old = q.items.get(order.id);
  if (old && old.version > order.version) return;
  if (matches(order)) {
    q.items.set(order.id, order);
    if (!had) q.ids.unshift(order.id);
    upsertRow(order, !had);
  } else if (had) {
    q.items.set(order.id, order);
    if (order.id === q.selected) {
      upsertRow(order, false);
      q.list.querySelector(`.order-row[data-order-id="${order.id}"]`)?.classList.add('gone');
    } else {
      q.items.delete(order.id);
      q.ids = q.ids.filter((id) => id !== order.id);
      const row = q.list.querySelector(`.order-row[data-order-id="${order.id}"]`);
      if (row) { row.classList.add('leaving'); setTimeout(() => row.remove(), 600); }
    }
  }
  renderFoot();
  if (order.id === q.selected) refreshDetail(entry);
}

function upsertRow(o, isNew) {
  const existing = q.list.querySelector(`.order-row[data-order-id="${o.id}"]`);
  const tpl = document.createElement('template');
  tpl.innerHTML = rowHtml(o).trim();
  const row = tpl.content.firstElementChild;
  if (existing) {
    row.classList.toggle('gone', !matches(o));
    existing.replaceWith(row);
  } else {
    q.list.querySelector('.empty')?.remove();
    q.list.prepend(row);
  }
  row.classList.add(isNew ? 'fresh' : 'changed');
  setTimeout(() => row.classList.remove('fresh', 'changed'), 2500);
}

// --- The detail -------------------------------------------------------------------------------

async function openOrder(id, action, keep = false) {
  const seq = ++q.dseq;
  if (!keep || q.selected !== id) {
    q.selected = id;
    q.detail = null;
    q.action = null;
    markSelected();
    q.detailEl.innerHTML = `<div class="placeholder">${esc(t('loading'))}</div>`;
  }
  let view;
  try {
    view = await get(`/orders/${id}`);
  } catch (error) {
    if (seq !== q.dseq) return;
    q.detailEl.innerHTML = `<div class="placeholder error">${esc(failureText(error))}</div>`;
    return;
  }
  if (seq !== q.dseq) return;
  const sameOrder = q.detail && q.detail.id === view.id;
  q.detail = view;
  renderDetail(sameOrder);
  if (action && FORMS[action] && (!sameOrder || q.action !== action)) openForm(action);
  else if (!action && !keep) { q.action = null; }
}

/** Re-reads the open order after a change committed elsewhere; keeps an open form and its input. */
async function refreshDetail(entry) {
  const id = q.selected;
  const seq = ++q.dseq;
  let view;
  try { view = await get(`/orders/${id}`); } catch (_) { return; }
  if (seq !== q.dseq || q.selected !== id) return;
  const before = q.detail;
  q.detail = view;
  if (entry?.action === 'report_merged' && view.incident_id) q.incidentEvents.delete(view.incident_id);
  renderDetail(true);
  if (entry && entry.actor && entry.actor.user_id !== state.user.id && before && before.version !== view.version) {
    notice(t('o.updated', { who: entry.actor.username, action: label('action', entry.action) }));
  }
  if (q.action && !view.allowed_actions.includes(q.action)) {
    const form = q.detailEl.querySelector('.action-form');
    if (form) form.querySelector('.form-warn').hidden = false;
  }
}

function notice(text) {
  const el = q.detailEl.querySelector('.d-notice');
  if (!el) return;
  el.textContent = text;
  el.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

function renderDetail(keepParts) {
  const o = q.detail;
  const keep = {};
  const scroll = q.detailEl.scrollTop;
  if (keepParts) {
    for (const sel of ['.d-form-slot', '.map', '.d-notice']) keep[sel] = q.detailEl.querySelector(sel);
  }
  const respond = o.responded_at
    ? `<span class="tag ok">${esc(t('o.responded'))} ${esc(when(o.responded_at))}</span>`
    : `${esc(when(o.response_due_at))} <span class="cd${o.response_overdue ? ' over' : ''}" data-countdown="${esc(o.response_due_at)}"></span>`;
  const chain = o.chain.map((u) => `<span class="chain-unit${isMyUnit(u) ? ' mine' : ''}">${esc(unitName(u))}</span>`).join('<span class="chain-arrow">›</span>');
  const kv = [
    [t('o.category'), esc(categoryName(o.category))],
    [t('o.urgency'), `${esc(label('urgency', o.urgency))}`],
    [t('o.source'), `${esc(label('source', o.source))}${o.proactive ? ` <span class="tag info">${esc(t('o.proactive'))}</span>` : ''}`],
    [t('o.place'), `${regionHtml(o.region_code)}${o.address ? ` · ${esc(o.address)}` : ''}`],
    [t('o.holder'), `<b class="holder-now">${esc(unitName(o.holder))}</b>`],
    [t('o.chain'), `<span class="chain">${chain}</span>`],
    [t('o.suggested'), o.suggested_org_code ? esc(orgName(o.suggested_org_code)) : '—'],
    [t('o.created'), esc(when(o.created_at, true))],
    [t('o.response_due'), respond],
    [t('o.resolve_due'), `${esc(when(o.resolve_due_at, true))} ${slaHtml(o)}`],
    [t('o.requester'), esc([o.requester?.name, o.requester?.phone].filter(Boolean).join(' ') || '—')],
    [t('o.reports'), `${o.report_count}${o.incident_id ? ` · <a href="#/inbox/${o.event_id || ''}">${esc(t('o.incident'))} #${o.incident_id}</a>` : ''}`],
  ];
  if (o.extension) kv.push([t('o.extension'), `<span class="tag warn">${esc(t('o.extension.until'))} ${esc(when(o.extension.until, true))}</span> ${esc(o.extension.reason)} <span class="muted">(${esc(o.extension.requested_by?.username || '')})</span>`]);
  if (o.result) kv.push([t('o.result'), esc(o.result)]);
  if (o.callback) kv.push([t('o.callback'), `${o.callback.solved ? `<span class="tag ok">${esc(t('f.yes'))}</span>` : `<span class="tag bad">${esc(t('f.no'))}</span>`} ${esc(label('satisfaction', o.callback.satisfaction))}${o.callback.note ? ` · ${esc(o.callback.note)}` : ''}`]);
  if (o.termination_reason) kv.push([t('o.terminated_reason'), esc(o.termination_reason)]);

  q.detailEl.innerHTML = `
  <div class="d-head">
    <div class="d-title"><span class="oid">#${o.id}</span><h2>${esc(o.title || categoryName(o.category))}</h2>${statusTag(o.status)}</div>
    <div class="d-tags">${tags(o)}${o.status === 'suspended' ? `<span class="tag">${esc(t('o.suspended'))}</span>` : ''}</div>
    <div class="d-sla">${slaHtml(o)}</div>
  </div>
  <div class="d-notice" role="status" hidden></div>
  <div class="d-actions" aria-label="${esc(t('o.actions'))}">${actionButtons(o)}</div>
  <div class="d-form-slot"></div>
  <div class="d-body">
    <section class="card info"><h3>${esc(t('o.info'))}</h3><dl class="kv">${kv.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl></section>
    <div class="d-side">
      <section class="card"><h3>${esc(t('o.map'))} <span class="muted small">${regionHtml(o.region_code)}</span></h3><div class="map" hidden></div></section>
      <section class="card"><h3>${esc(t('o.evidence'))}</h3><div class="evidence-list"><span class="muted small">${esc(t('loading'))}</span></div></section>
    </div>
  </div>
  <section class="card"><h3>${esc(t('o.description'))}</h3><p class="desc">${esc(o.description || '—')}</p><div class="reports"></div></section>
  <section class="card"><h3>${esc(t('o.history'))} <span class="muted small">${o.history.length}</span></h3><ol class="timeline">${o.history.slice().reverse().map(entryHtml).join('')}</ol></section>`;
  for (const [sel, node] of Object.entries(keep)) {
    const fresh = q.detailEl.querySelector(sel);
    if (node && fresh) fresh.replaceWith(node);
  }
  q.detailEl.scrollTop = scroll;
  q.detailEl.querySelectorAll('.d-actions button[data-action]').forEach((b) => b.classList.toggle('active', b.dataset.action === q.action));
  q.detailEl.querySelector('.d-actions').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    if (b.dataset.action) openForm(b.dataset.action);
    if (b.dataset.whistle) go(`whistles/new/${o.id}`);
  });
  tickCountdowns();
  loadExtras(o, keepParts);
}

function actionButtons(o) {
  const stateAllows = ORDER_OF_ACTIONS.filter((a) => o.allowed_actions.includes(a));
  const allowed = stateAllows.filter((a) => mayAct(a, o));
  const others = stateAllows.filter((a) => !allowed.includes(a));
  const buttons = allowed.map((a) => `<button type="button" data-action="${a}" class="${PRIMARY.has(a) ? 'primary' : DANGER.has(a) ? 'danger' : ''}">${esc(label('action', a))}</button>`);
  const open = !['closed', 'terminated'].includes(o.status);
  if (open && WHISTLE_ROLES.has(state.user.role)) buttons.push(`<button type="button" data-whistle="1" class="whistle-btn">✆ ${esc(t('o.whistle'))}</button>`);
  if (others.length) {
    buttons.push(`<span class="others muted small" title="${esc(others.map((a) => label('action', a)).join('、'))}">${esc(t('o.others', { unit: unitName(o.holder) }))}</span>`);
  }
  if (!buttons.length) return `<span class="muted">${esc(t('o.no_actions'))}</span>`;
  return buttons.join('');
}

function entryHtml(h) {
  const moved = h.to_unit && (!h.from_unit || unitKey(h.from_unit) !== unitKey(h.to_unit));
  const statusChange = h.from_status && h.to_status && h.from_status !== h.to_status;
  const data = h.data || {};
  const extra = [];
  if (data.until) extra.push(`${t('o.extension.until')} ${when(data.until, true)}`);
  if (data.solved !== undefined && data.solved !== null) extra.push(data.solved ? t('f.yes') : t('f.no'));
  if (data.satisfaction) extra.push(label('satisfaction', data.satisfaction));
  if (data.source) extra.push(label('source', data.source));
  if (data.reason) extra.push(data.reason);
  if (data.result) extra.push(data.result);
  return `<li class="entry a-${esc(h.action)}" data-seq="${h.seq}" data-action="${esc(h.action)}">
    <div class="e-head"><b class="e-action">${esc(label('action', h.action))}</b>
      ${statusChange ? `<span class="e-status">${esc(label('status', h.from_status))} → ${esc(label('status', h.to_status))}</span>` : ''}
      <span class="e-time">${esc(when(h.at, true))}</span></div>
    <div class="e-meta">${esc(actorText(h.actor))}${moved ? ` · ${h.from_unit ? `${esc(unitName(h.from_unit))} → ` : ''}<b>${esc(unitName(h.to_unit))}</b>` : ''}</div>
    ${h.note ? `<div class="e-note">${esc(h.note)}</div>` : ''}
    ${extra.length ? `<div class="e-note muted">${esc(extra.join(' · '))}</div>` : ''}
    ${h.attachments?.length ? `<div class="thumbs">${h.attachments.map(thumb).join('')}</div>` : ''}
  </li>`;
}

function thumb(id) {
  return `<img class="evidence" data-media="${esc(id)}" alt="" loading="lazy">`;
}

function fillThumbs(root) {
  root.querySelectorAll('img.evidence[data-media]:not([src])').forEach((img) => {
    mediaUrl(img.dataset.media).then((url) => { img.src = url; }).catch(() => img.classList.add('broken'));
  });
}

function ancestorsOf(code) {
  if (!q.ancestors.has(code)) {
    q.ancestors.set(code, get(`/regions/${encodeURIComponent(code)}/ancestors`).then((list) => { list.forEach(rememberRegion); return list; })
      .catch(() => { q.ancestors.delete(code); return null; }));
  }
  return q.ancestors.get(code);
}

async function loadExtras(o, keepParts) {
  fillThumbs(q.detailEl);
  const mapEl = q.detailEl.querySelector('.map');
  if (!keepParts || mapEl.hidden) {
    ancestorsOf(o.region_code).then((anc) => {
      if (q.detail?.id !== o.id) return;
      drawPlace(mapEl, { ancestors: anc, point: o.position });
    });
  }
  // The incident's reports: their evidence, and who else reported it (多人同诉).
  let events = [];
  if (o.incident_id) {
    if (!q.incidentEvents.has(o.incident_id) || !keepParts) {
      q.incidentEvents.set(o.incident_id, get(`/events?incident=${o.incident_id}&limit=50`).then((p) => p.items).catch(() => []));
    }
    events = await q.incidentEvents.get(o.incident_id);
  }
  if (q.detail?.id !== o.id) return;
  const media = [...new Set([...events.flatMap((e) => e.evidence || []), ...(o.result_media || [])])];
  const ev = q.detailEl.querySelector('.evidence-list');
  ev.innerHTML = media.length ? `<div class="thumbs big">${media.map(thumb).join('')}</div>` : `<span class="muted small">${esc(t('o.no_evidence'))}</span>`;
  fillThumbs(ev);
  const reports = q.detailEl.querySelector('.reports');
  if (events.length) {
    reports.innerHTML = `<h4>${esc(t('e.reports'))}（${events.length}）</h4><ul class="report-list">${events.map((e) => `
      <li><a href="#/inbox/${e.id}">#${e.id}</a> <span class="muted">${esc(when(e.occurred_at))}</span> ${esc(label('source', e.source))} · ${esc(e.title)}
      ${e.reporter?.name ? `<span class="muted">· ${esc(e.reporter.name)}</span>` : ''}</li>`).join('')}</ul>`;
  }
}

// --- Actions ----------------------------------------------------------------------------------

function fieldHtml(spec, o, action) {
  const required = spec.endsWith('!');
  const name = spec.replace('!', '');
  const draft = (n) => `data-draft="order-${o.id}-${n}"`;
  const req = required ? ' required' : '';
  const star = required ? '<i class="req">*</i>' : '';
  switch (name) {
    case 'to': {
      const id = action === 'transfer' ? 'transfer-target' : 'dispatch-target';
      return `<div class="field wide"><label for="${id}">${esc(t(action === 'transfer' ? 'f.to_transfer' : 'f.to'))}${star}</label>
        <select id="${id}" name="to" ${draft('to')}${req}><option value="">${esc(t('f.loading_targets'))}</option></select></div>`;
    }
    case 'note': return `<div class="field wide"><label>${esc(t('f.note'))}${star}</label><textarea name="note" rows="2" ${draft('note')}${req}></textarea></div>`;
    case 'reason': return `<div class="field wide"><label>${esc(t('f.reason'))}${star}</label><textarea name="reason" rows="2" ${draft('reason')}${req}></textarea></div>`;
    case 'result': return `<div class="field wide"><label>${esc(t('f.result'))}${star}</label><textarea name="result" rows="3" ${draft('result')}${req}></textarea></div>`;
    case 'until': {
      const base = new Date(Math.max(new Date(o.resolve_due_at).getTime(), Date.now()) + 3 * 86400000);
      const local = new Date(base.getTime() - base.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
      return `<div class="field"><label>${esc(t('f.until'))}${star}</label><input type="datetime-local" name="until" value="${local}" ${draft('until')}${req}></div>`;
    }
    case 'solved': return `<div class="field"><label>${esc(t('f.solved'))}${star}</label><select name="solved" ${draft('solved')}${req}>
      <option value="">${esc(t('f.choose'))}</option><option value="true">${esc(t('f.yes'))}</option><option value="false">${esc(t('f.no'))}</option></select></div>`;
    case 'satisfaction': return `<div class="field"><label>${esc(t('f.satisfaction'))}${star}</label><select name="satisfaction" ${draft('satisfaction')}${req}>
      <option value="">${esc(t('f.choose'))}</option>${['satisfied', 'basically_satisfied', 'unsatisfied'].map((s) => `<option value="${s}">${esc(label('satisfaction', s))}</option>`).join('')}</select></div>`;
    case 'photos': return `<div class="field"><label>${esc(t('f.photos'))}</label><input type="file" name="photos" accept="image/*" multiple></div>`;
    default: return '';
  }
}

function openForm(action) {
  const o = q.detail;
  if (!o || !FORMS[action]) return;
  q.action = action;
  setRoute(`queue/${o.id}/${action}`);
  q.detailEl.querySelectorAll('.d-actions button[data-action]').forEach((b) => b.classList.toggle('active', b.dataset.action === action));
  const slot = q.detailEl.querySelector('.d-form-slot');
  slot.innerHTML = `<form class="action-form${DANGER.has(action) ? ' danger' : ''}" data-action="${action}" novalidate>
    <div class="form-title">${esc(label('action', action))} <span class="muted small">#${o.id} · ${esc(label('status', o.status))}</span></div>
    <div class="form-warn" hidden>${esc(t('o.action_now_disallowed'))}</div>
    <div class="fields">${FORMS[action].map((s) => fieldHtml(s, o, action)).join('')}</div>
    <div class="form-error error" role="alert" hidden></div>
    <div class="form-buttons"><button type="submit" class="${DANGER.has(action) ? 'danger solid' : 'primary'}">${esc(t('f.submit', { action: label('action', action) }))}</button>
    <button type="button" class="cancel">${esc(t('f.cancel'))}</button></div>
  </form>`;
  const form = slot.querySelector('form');
  form.querySelector('.cancel').addEventListener('click', () => closeForm());
  form.addEventListener('submit', (e) => { e.preventDefault(); submitAction(form); });
  keepDrafts(slot);
  const select = form.querySelector('select[name=to]');
  if (select) fillTargets(select, o, action);
  (form.querySelector('textarea, select, input') || form.querySelector('button')).focus({ preventScroll: true });
  slot.scrollIntoView({ block: 'nearest' });
}

function closeForm() {
  q.action = null;
  const slot = q.detailEl.querySelector('.d-form-slot');
  if (slot) slot.innerHTML = '';
  q.detailEl.querySelectorAll('.d-actions button[data-action]').forEach((b) => b.classList.remove('active'));
  if (q.detail) setRoute(`queue/${q.detail.id}`);
}

/** Whether an organisation serves the place (its node is the place or above it). */
function serves(org, place, ancestorCodes) {
  return ancestorCodes.has(org.region_code) || place.startsWith(org.region_code);
}

/**
 * The dispatch / transfer targets: for dispatch, the nodes between the holder and the place
 * (a node must cover the place), then organisations serving the place; for transfer, the
 * organisations serving the place (the holder's peers). The suggested organisation is preselected.
 */
async function fillTargets(select, o, action) {
  const anc = (await ancestorsOf(o.region_code)) || [];
  let regions = [];
  if (action === 'dispatch' && o.holder.kind === 'region') {
    const idx = anc.findIndex((r) => r.code === o.holder.code);
    regions = idx >= 0 ? anc.slice(idx + 1) : anc.filter((r) => r.code !== o.holder.code && r.code.startsWith(o.holder.code));
    if (!anc.length) {
      // Without the chain, offer the holder's children (the API judges which covers the place).
      regions = await get(`/regions?parent=${encodeURIComponent(o.holder.code)}&limit=200`).then((p) => p.items).catch(() => []);
    }
  }
  const codes = new Set(anc.map((r) => r.code));
  const orgs = state.orgList.filter((g) => serves(g, o.region_code, codes) && !(o.holder.kind === 'organisation' && o.holder.code === g.code));
  const groups = [
    ['f.orgs_dept', orgs.filter((g) => g.kind === 'department')],
    ['f.orgs_local', orgs.filter((g) => g.kind === 'street_office' || g.kind === 'community_committee')],
    ['f.orgs_pm', orgs.filter((g) => g.kind === 'property_company')],
    ['f.orgs_other', orgs.filter((g) => !['department', 'street_office', 'community_committee', 'property_company'].includes(g.kind))],
  ];
  const suggested = o.suggested_org_code;
  const opt = (value, text, isSuggested) => `<option value="${esc(value)}">${esc(text)}${isSuggested ? esc(t('f.suggested')) : ''}</option>`;
  let html = `<option value="">${esc(t('f.choose'))}</option>`;
  if (regions.length) html += `<optgroup label="${esc(t('f.regions'))}">${regions.map((r) => opt(`region:${r.code}`, `${label('level', r.level)} · ${r.name}`)).join('')}</optgroup>`;
  for (const [key, list] of groups) {
    if (list.length) html += `<optgroup label="${esc(t(key))}">${list.map((g) => opt(`organisation:${g.code}`, g.name, g.code === suggested)).join('')}</optgroup>`;
  }
  if (!select.isConnected) return;
  select.innerHTML = html;
  keepDrafts(select.closest('form'));
  if (!select.value && suggested && orgs.some((g) => g.code === suggested)) select.value = `organisation:${suggested}`;
}

async function submitAction(form) {
  const o = q.detail;
  const action = form.dataset.action;
  const specs = FORMS[action];
  const body = { action, version: o.version };
  const missing = [];
  const drafts = [];
  const val = (n) => form.elements[n]?.value?.trim() ?? '';
  for (const spec of specs) {
    const name = spec.replace('!', '');
    const required = spec.endsWith('!');
    if (name === 'photos') continue;
    const v = val(name);
    drafts.push(`order-${o.id}-${name}`);
    if (!v) { if (required) missing.push(name); continue; }
    if (name === 'to') { const [kind, ...rest] = v.split(':'); body.to = { kind, code: rest.join(':') }; }
    else if (name === 'until') body.until = new Date(v).toISOString();
    else if (name === 'solved') body.solved = v === 'true';
    else body[name] = v;
  }
  const FIELD = { to: action === 'transfer' ? 'f.to_transfer' : 'f.to', note: 'f.note', reason: 'f.reason', until: 'f.until', result: 'f.result', solved: 'f.solved', satisfaction: 'f.satisfaction' };
  if (missing.length) {
    showFormError(form, missing.map((m) => t('f.required', { field: t(FIELD[m]) })).join('；'));
    form.elements[missing[0]]?.focus();
    return;
  }
  showFormError(form, '');
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const files = form.elements.photos?.files;
    if (files && files.length) body.attachments = await Promise.all([...files].map((f) => upload(f)));
    const outcome = await api('POST', `/orders/${o.id}/actions`, body, { idempotencyKey: idempotencyKey() });
    clearDrafts(drafts);
    toast(t('f.done', { action: label('action', action) }));
    closeForm();
    applyLive({ topic: `order.${action}`, payload: { order: outcome.order, entry: null } });
    if (q.selected === o.id) refreshDetail(null);
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) return; // on the way to login; drafts kept
    showFormError(form, failureText(error, { action, status: q.detail?.status }));
    if (error instanceof ApiFailure && ['stale_version', 'illegal_transition'].includes(error.code)) refreshDetail(null);
  } finally {
    button.disabled = false;
  }
}

