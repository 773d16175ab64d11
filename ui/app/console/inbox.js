// The event inbox (事件): every report as it arrives, which incident it joined (多人同诉), and the
// incident's order. Counts of merged reports come from the incidents themselves.
import { get, mediaUrl } from '/shared/api.js';
import { t, label, when } from '/shared/i18n.js';
import { state, loadPage, listFootHtml, wireList, esc, regionHtml, categoryName, failureText, emptyHtml, statusTag } from './common.js';
import { drawPlace } from './map.js';

const SOURCES = ['hotline_12345', 'resident_app', 'open311', 'grid_patrol', 'camera_ai', 'iot', 'analytics'];
const PAGE = 50;
const SEV_CLASS = { info: 'sev-info', minor: 'sev-minor', major: 'sev-major', critical: 'sev-critical' };

const v = {
  root: null, list: null, detailEl: null, filters: { within: '', category: '', source: '', from: '' },
  items: new Map(), ids: [], cursor: null, loaded: false, loading: false, seq: 0, buffer: [],
  incidents: new Map(), selected: null, dseq: 0, group: false,
};

export function init(root) {
  v.root = root;
  const communities = [...state.regions.values()].filter((r) => ['street', 'community'].includes(r.level))
    .filter((r) => !state.me?.jurisdiction || r.code.startsWith(state.me.jurisdiction))
    .sort((a, b) => a.code.localeCompare(b.code));
  root.innerHTML = `
  <div class="list-pane">
    <div class="pane-head">
      <div class="head-row"><b class="pane-title">${esc(t('nav.inbox.sub'))}</b>
        <button type="button" class="icon-btn refresh" title="${esc(t('refresh'))}">↻</button>
      </div>
      <div class="filters">
        <select name="within" aria-label="${esc(t('e.filter.within'))}"><option value="">${esc(t('e.filter.within'))}：${esc(t('q.any'))}</option>
          ${communities.map((r) => `<option value="${esc(r.code)}">${r.level === 'community' ? '　' : ''}${esc(r.name)}</option>`).join('')}</select>
        <select name="category" aria-label="${esc(t('q.category'))}"><option value="">${esc(t('q.category'))}：${esc(t('q.any'))}</option>
          ${[...state.taxonomy.values()].map((c) => `<option value="${esc(c.code)}">${esc(categoryName(c.code))}</option>`).join('')}</select>
        <select name="source" aria-label="${esc(t('q.source'))}"><option value="">${esc(t('q.source'))}：${esc(t('q.any'))}</option>
          ${SOURCES.map((s) => `<option value="${s}">${esc(label('source', s))}</option>`).join('')}</select>
        <input type="date" name="from" aria-label="${esc(t('e.filter.from'))}" title="${esc(t('e.filter.from'))}">
        <label class="check" title="${esc(t('e.group.title'))}"><input type="checkbox" name="group"> ${esc(t('e.group'))}</label>
      </div>
    </div>
    <div id="inbox" class="list" role="list"></div>
    ${listFootHtml()}
  </div>
  <div id="event-detail" class="detail-pane"><div class="placeholder">${esc(t('e.pick'))}</div></div>`;
  v.list = root.querySelector('#inbox');
  v.detailEl = root.querySelector('#event-detail');
  root.querySelector('.filters').addEventListener('change', (e) => {
    if (!e.target.name) return;
    if (e.target.name === 'group') { v.group = e.target.checked; render(); return; }
    v.filters[e.target.name] = e.target.value;
    load(true);
  });
  wireList(v, { load, row: '.event-row', route: (row) => `inbox/${row.dataset.eventId}` });
}

export async function show(params) {
  if (!v.loaded && !v.loading) load(true);
  const id = params[0] ? Number(params[0]) : null;
  if (id && id !== v.selected) await open(id);
  if (!id) { v.selected = null; mark(); v.detailEl.innerHTML = `<div class="placeholder">${esc(t('e.pick'))}</div>`; }
}

export function reload() { load(true); if (v.selected) open(v.selected); }

async function load(reset) {
  const f = v.filters;
  const page = await loadPage(v, '/events', { limit: PAGE, within: f.within, category: f.category, source: f.source, from: f.from }, reset, { render, apply });
  if (page) fetchIncidents(page.items.map((e) => e.incident_id));
}

/** Fetches the incidents of listed events (4 at a time) for their report counts and orders. */
async function fetchIncidents(ids) {
  const todo = [...new Set(ids)].filter((id) => !v.incidents.has(id));
  const worker = async () => {
    while (todo.length) {
      const id = todo.shift();
      try {
        v.incidents.set(id, await get(`/incidents/${id}`));
        updateIncidentBadges(id);
      } catch (_) { v.incidents.set(id, null); }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

function updateIncidentBadges(incidentId) {
  v.list.querySelectorAll(`.event-row[data-incident-id="${incidentId}"] .inc`).forEach((el) => { el.outerHTML = incidentBadge(incidentId); });
}

function incidentBadge(incidentId) {
  const inc = v.incidents.get(incidentId);
  const n = inc?.report_count || 1;
  const order = inc?.order_id ? `<span class="tag">${esc(t('e.order'))} #${inc.order_id}</span>` : '';
  return `<span class="inc">${n > 1 ? `<span class="tag warn merged-count" title="${esc(t('e.merged'))} #${incidentId}">${esc(label('action', 'report_merged'))}×${n}</span>` : ''}${order}</span>`;
}

function rowHtml(e) {
  return `<div class="event-row${e.id === v.selected ? ' selected' : ''}" data-event-id="${e.id}" data-incident-id="${e.incident_id}" role="listitem" tabindex="0">
    <div class="r1"><span class="sev ${SEV_CLASS[e.severity] || ''}" title="${esc(label('severity', e.severity))}"></span><span class="oid">#${e.id}</span>
      <span class="otitle">${esc(e.title || categoryName(e.category))}</span><span class="muted small">${esc(when(e.occurred_at))}</span></div>
    <div class="r2"><span>${esc(categoryName(e.category))}</span><span class="dot">·</span>${regionHtml(e.region_code)}<span class="dot">·</span><span class="muted">${esc(label('source', e.source))}</span></div>
    <div class="r3"><span class="tag sev-tag ${SEV_CLASS[e.severity] || ''}">${esc(label('severity', e.severity))}</span>${e.evidence?.length ? `<span class="tag info">${esc(t('e.photos', { n: e.evidence.length }))}</span>` : ''}${incidentBadge(e.incident_id)}</div>
  </div>`;
}

/** The events to list: all, or (grouped) the newest report of each incident. */
function shown() {
  if (!v.group) return v.ids;
  const seen = new Set();
  return v.ids.filter((id) => {
    const inc = v.items.get(id).incident_id;
    if (seen.has(inc)) return false;
    seen.add(inc);
    return true;
  });
}

function render() {
  const ids = shown();
  v.list.innerHTML = ids.length ? ids.map((id) => rowHtml(v.items.get(id))).join('') : emptyHtml(t('e.none'));
  v.root.querySelector('.list-foot .count').textContent = `${t('q.loaded', { n: v.ids.length })}${v.cursor ? '' : ` · ${t('q.end')}`}`;
  v.root.querySelector('.list-foot .more').hidden = !v.cursor;
}

function mark() {
  v.list.querySelectorAll('.event-row').forEach((r) => r.classList.toggle('selected', Number(r.dataset.eventId) === v.selected));
}

function matches(e) {
  const f = v.filters;
  const j = state.me?.jurisdiction;
  if (j && !e.region_code.startsWith(j)) return false;
  if (f.within && !e.region_code.startsWith(f.within)) return false;
  if (f.category && e.category !== f.category) return false;
  if (f.source && e.source !== f.source) return false;
  return true;
}

export function onLive(message) {
  if (message.topic === 'event.created' || message.topic.startsWith('order.')) {
    if (!v.loaded) { v.buffer.push(message); return; }
    apply(message);
  }
}

function apply(message) {
  if (message.topic === 'event.created') {
    const { event } = message.payload;
    if (!event || v.items.has(event.id) || !matches(event)) return;
    v.items.set(event.id, event);
    v.ids.unshift(event.id);
    v.list.querySelector('.empty')?.remove();
    if (v.group) v.list.querySelectorAll(`.event-row[data-incident-id="${event.incident_id}"]`).forEach((r) => r.remove());
    const tpl = document.createElement('template');
    tpl.innerHTML = rowHtml(event).trim();
    const row = tpl.content.firstElementChild;
    row.classList.add('fresh');
    v.list.prepend(row);
    setTimeout(() => row.classList.remove('fresh'), 2500);
    v.root.querySelector('.list-foot .count').textContent = t('q.loaded', { n: v.ids.length });
    // The incident grew (or is new): refresh its count everywhere.
    v.incidents.delete(event.incident_id);
    fetchIncidents([event.incident_id]);
    if (v.selected) {
      const sel = v.items.get(v.selected);
      if (sel && sel.incident_id === event.incident_id) open(v.selected, true);
    }
  } else {
    // An order changed: its incident's order link and status may show in the detail.
    const order = message.payload?.order;
    if (order && v.selected && v.items.get(v.selected)?.incident_id === order.incident_id) open(v.selected, true);
  }
}

async function open(id, keep = false) {
  const seq = ++v.dseq;
  v.selected = id;
  mark();
  if (!keep) v.detailEl.innerHTML = `<div class="placeholder">${esc(t('loading'))}</div>`;
  let e;
  let inc = null;
  let reports = [];
  let order = null;
  try {
    e = v.items.get(id) || await get(`/events/${id}`);
    [inc, reports] = await Promise.all([
      get(`/incidents/${e.incident_id}`).catch(() => null),
      get(`/events?incident=${e.incident_id}&limit=50`).then((p) => p.items).catch(() => []),
    ]);
    if (inc?.order_id) order = await get(`/orders/${inc.order_id}`).catch(() => null);
  } catch (error) {
    if (seq !== v.dseq) return;
    v.detailEl.innerHTML = `<div class="placeholder error">${esc(failureText(error))}</div>`;
    return;
  }
  if (seq !== v.dseq) return;
  if (inc) { v.incidents.set(inc.id, inc); updateIncidentBadges(inc.id); }
  const kv = [
    [t('o.category'), esc(categoryName(e.category))],
    [t('e.severity'), `<span class="tag sev-tag ${SEV_CLASS[e.severity] || ''}">${esc(label('severity', e.severity))}</span>`],
    [t('o.source'), `${esc(label('source', e.source))}${e.external_id ? ` <span class="muted">${esc(e.external_id)}</span>` : ''}`],
    [t('o.place'), `${regionHtml(e.region_code)}${e.address ? ` · ${esc(e.address)}` : ''}`],
    [t('e.occurred'), esc(when(e.occurred_at, true))],
    [t('e.received'), esc(when(e.received_at, true))],
    [t('e.reporter'), esc([e.reporter?.name, e.reporter?.phone].filter(Boolean).join(' ') || '—')],
  ];
  if (e.device_code) kv.push([t('e.device'), esc(e.device_code)]);
  const incHtml = inc ? `
    <div class="incident-card">
      <div class="inc-head"><b>${esc(t('o.incident'))} #${inc.id}</b>
        ${inc.report_count > 1 ? `<span class="tag warn">${esc(label('action', 'report_merged'))} · ${esc(t('e.incident_reports', { n: inc.report_count }))}</span>` : `<span class="tag">${esc(t('e.incident_reports', { n: inc.report_count }))}</span>`}
        <span class="tag ${inc.open ? 'ok' : ''}">${esc(t(inc.open ? 'e.incident_open' : 'e.incident_closed'))}</span></div>
      <div class="muted small">${esc(when(inc.first_at, true))} — ${esc(when(inc.last_at, true))}</div>
      ${order ? `<div class="inc-order"><a href="#/queue/${order.id}" class="order-link">${esc(t('e.order'))} #${order.id} · ${esc(order.title)}</a> ${statusTag(order.status)} <span class="muted">→ ${esc(order.holder?.name || '')}</span></div>`
    : `<div class="muted">${esc(t('e.no_order'))}</div>`}
    </div>` : '';
  v.detailEl.innerHTML = `
  <div class="d-head"><div class="d-title"><span class="oid">#${e.id}</span><h2>${esc(e.title || categoryName(e.category))}</h2></div></div>
  <div class="d-body">
    <section class="card info"><h3>${esc(t('e.info'))}</h3><dl class="kv">${kv.map(([k, x]) => `<dt>${esc(k)}</dt><dd>${x}</dd>`).join('')}</dl>
      <p class="desc">${esc(e.description || '')}</p></section>
    <div class="d-side">
      <section class="card"><h3>${esc(t('o.map'))}</h3><div class="map" hidden></div></section>
      <section class="card"><h3>${esc(t('o.evidence'))}</h3><div class="evidence-list">${e.evidence?.length
    ? `<div class="thumbs big">${e.evidence.map((m) => `<img class="evidence" data-media="${esc(m)}" alt="">`).join('')}</div>`
    : `<span class="muted small">${esc(t('o.no_evidence'))}</span>`}</div></section>
    </div>
  </div>
  <section class="card"><h3>${esc(t('o.incident'))}</h3>${incHtml}
    <h4>${esc(t('e.reports'))}（${reports.length}）</h4>
    <ul class="report-list">${reports.map((r) => `<li class="${r.id === e.id ? 'current' : ''}"><a href="#/inbox/${r.id}">#${r.id}</a> <span class="muted">${esc(when(r.occurred_at))}</span> ${esc(label('source', r.source))} · ${esc(r.title)} ${regionHtml(r.region_code)}</li>`).join('')}</ul>
  </section>`;
  v.detailEl.querySelectorAll('img.evidence[data-media]').forEach((img) => mediaUrl(img.dataset.media).then((u) => { img.src = u; }).catch(() => {}));
  get(`/regions/${encodeURIComponent(e.region_code)}/ancestors`).then((anc) => {
    if (v.selected === id) drawPlace(v.detailEl.querySelector('.map'), { ancestors: anc, point: e.position || inc?.position });
  }).catch(() => {});
}
