// 审批: communities apply (a work order, a whistle, a resource); the street approves or rejects.
import { api, get, keepDrafts, clearDrafts, toast, ApiFailure } from '/shared/api.js';
import { t, label, when } from '/shared/i18n.js';
import { state, loadPage, listFootHtml, wireList, wireSegments, esc, regionHtml, categoryName, actorText, failureText, showFormError, emptyHtml, go, idempotencyKey, orgName } from './common.js';

const DECIDERS = new Set(['street_dispatcher', 'street_leader', 'leader', 'district_dispatcher', 'admin']);
const APPLICANTS = new Set(['community_secretary', 'community_worker']);
const STATUS_CLASS = { pending: 'st-dispatched', approved: 'st-resolved', rejected: 'st-closed' };

const a = {
  root: null, list: null, detailEl: null, status: 'pending', items: new Map(), ids: [], cursor: null, loaded: false, loading: false,
  seq: 0, buffer: [], selected: null, dseq: 0, countListeners: [],
};

export function onCount(fn) { a.countListeners.push(fn); }
function setCount(n) { a.countListeners.forEach((fn) => fn(n)); }

export async function prefetchCount() {
  if (a.loaded || !DECIDERS.has(state.user.role)) return;
  try { setCount((await get('/applications?status=pending&limit=100')).items.length); } catch (_) { /* no count */ }
}

export function init(root) {
  a.root = root;
  a.status = DECIDERS.has(state.user.role) ? 'pending' : '';
  root.innerHTML = `
  <div class="list-pane">
    <div class="pane-head">
      <div class="head-row">
        <div class="seg">
          ${['pending', 'approved', 'rejected', ''].map((s) => `<button type="button" data-status="${s}">${esc(t(s ? `a.${s}` : 'a.all'))}</button>`).join('')}
        </div>
        <button type="button" class="icon-btn refresh" title="${esc(t('refresh'))}">↻</button>
      </div>
      <div class="filters">
        ${APPLICANTS.has(state.user.role) ? `<button type="button" class="primary new-application">＋ ${esc(t('a.new'))}</button>` : ''}
      </div>
    </div>
    <div id="approvals" class="list" role="list"></div>
    ${listFootHtml()}
  </div>
  <div id="application-detail" class="detail-pane"><div class="placeholder">${esc(t('a.pick'))}</div></div>`;
  a.list = root.querySelector('#approvals');
  a.detailEl = root.querySelector('#application-detail');
  wireSegments(a, 'status', () => a.status, (status) => { a.status = status; }, load);
  root.querySelector('.new-application')?.addEventListener('click', () => go('approvals/new'));
  wireList(a, { load, row: '.application-row', route: (row) => `approvals/${row.dataset.applicationId}` });
}

export async function show(params) {
  if (!a.loaded && !a.loading) load(true);
  if (params[0] === 'new') { a.selected = null; mark(); newForm(); return; }
  const id = params[0] ? Number(params[0]) : null;
  if (id) await open(id);
  else { a.selected = null; mark(); a.detailEl.innerHTML = `<div class="placeholder">${esc(t('a.pick'))}</div>`; }
}

export function reload() { load(true); if (a.selected) open(a.selected); }

function load(reset) {
  return loadPage(a, '/applications', { status: a.status, limit: 50 }, reset, { render, apply });
}

function rowHtml(x) {
  return `<div class="application-row${x.id === a.selected ? ' selected' : ''}" data-application-id="${x.id}" data-status="${esc(x.status)}" role="listitem" tabindex="0">
    <div class="r1"><span class="oid">#${x.id}</span><span class="otitle">${esc(x.title)}</span><span class="status ${STATUS_CLASS[x.status] || ''}">${esc(t(`a.${x.status}`))}</span></div>
    <div class="r2"><span class="tag info">${esc(t(`a.kind.${x.kind}`))}</span>${regionHtml(x.region_code)}<span class="dot">·</span><span class="muted">${esc(x.applicant?.username || '')}</span></div>
    <div class="r3"><span class="muted small">${esc(when(x.created_at, true))}</span></div>
  </div>`;
}

function render() {
  a.list.innerHTML = a.ids.length ? a.ids.map((id) => rowHtml(a.items.get(id))).join('') : emptyHtml(t('a.none'));
  a.root.querySelector('.list-foot .count').textContent = `${t('q.loaded', { n: a.ids.length })}${a.cursor ? '' : ` · ${t('q.end')}`}`;
  a.root.querySelector('.list-foot .more').hidden = !a.cursor;
  if (a.status === 'pending') setCount(a.ids.length);
}

function mark() {
  a.list?.querySelectorAll('.application-row').forEach((r) => r.classList.toggle('selected', Number(r.dataset.applicationId) === a.selected));
}

export function onLive(message) {
  if (!message.topic.startsWith('application.')) return;
  if (!a.loaded) { a.buffer.push(message); return; }
  apply(message);
}

function apply(message) {
  const x = message.payload?.application;
  if (!x) return;
  const j = state.me?.jurisdiction;
  if (j && !x.region_code.startsWith(j)) return;
  const had = a.items.has(x.id);
  const fits = !a.status || a.status === x.status;
  if (fits) {
    if (!had) a.ids.unshift(x.id);
    a.items.set(x.id, x);
    const tpl = document.createElement('template');
    tpl.innerHTML = rowHtml(x).trim();
    const row = tpl.content.firstElementChild;
    row.classList.add(had ? 'changed' : 'fresh');
    const existing = a.list.querySelector(`.application-row[data-application-id="${x.id}"]`);
    if (existing) existing.replaceWith(row); else { a.list.querySelector('.empty')?.remove(); a.list.prepend(row); }
    setTimeout(() => row.classList.remove('fresh', 'changed'), 2500);
  } else if (had) {
    a.items.set(x.id, x);
    const existing = a.list.querySelector(`.application-row[data-application-id="${x.id}"]`);
    if (x.id === a.selected && existing) {
      const tpl = document.createElement('template');
      tpl.innerHTML = rowHtml(x).trim();
      existing.replaceWith(tpl.content.firstElementChild);
    } else {
      a.items.delete(x.id);
      a.ids = a.ids.filter((id) => id !== x.id);
      existing?.remove();
    }
  }
  if (a.status === 'pending') setCount(a.ids.filter((id) => a.items.get(id)?.status === 'pending').length);
  if (x.id === a.selected) open(x.id, true);
}

function requestHtml(x) {
  const r = x.request || {};
  const rows = [];
  if (r.category) rows.push([t('o.category'), esc(categoryName(r.category))]);
  if (r.region_code) rows.push([t('o.place'), regionHtml(r.region_code)]);
  if (r.urgency) rows.push([t('o.urgency'), esc(label('urgency', r.urgency) || r.urgency)]);
  if (r.title) rows.push([t('a.title'), esc(r.title)]);
  if (r.description) rows.push([t('a.description'), esc(r.description)]);
  if (Array.isArray(r.departments)) rows.push([t('w.departments'), esc(r.departments.map(orgName).join('、'))]);
  const known = new Set(['category', 'region_code', 'urgency', 'title', 'description', 'departments']);
  for (const [k, v] of Object.entries(r)) if (!known.has(k)) rows.push([k === 'what' ? t('a.what') : k, esc(typeof v === 'object' ? JSON.stringify(v) : v)]);
  return rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('');
}

async function open(id, keep = false) {
  const seq = ++a.dseq;
  a.selected = id;
  mark();
  if (!keep) a.detailEl.innerHTML = `<div class="placeholder">${esc(t('loading'))}</div>`;
  let x;
  try { x = await get(`/applications/${id}`); } catch (error) {
    if (seq !== a.dseq) return;
    a.detailEl.innerHTML = `<div class="placeholder error">${esc(failureText(error))}</div>`;
    return;
  }
  if (seq !== a.dseq) return;
  const keptReason = keep ? a.detailEl.querySelector('textarea[name=reason]')?.value : '';
  const canDecide = x.status === 'pending' && DECIDERS.has(state.user.role);
  const result = x.result_id ? (x.kind === 'whistle' ? `<a href="#/whistles/${x.result_id}">${esc(t('o.whistle'))} #${x.result_id}</a>` : `<a href="#/queue/${x.result_id}">${esc(t('e.order'))} #${x.result_id}</a>`) : '';
  a.detailEl.innerHTML = `
  <div class="d-head"><div class="d-title"><span class="oid">#${x.id}</span><h2>${esc(x.title)}</h2><span class="status ${STATUS_CLASS[x.status] || ''}">${esc(t(`a.${x.status}`))}</span></div>
    <div class="d-tags"><span class="tag info">${esc(t(`a.kind.${x.kind}`))}</span></div></div>
  ${canDecide ? `<form class="action-form decide" novalidate>
    <div class="form-title">${esc(t('a.decided'))}</div>
    <div class="fields"><div class="field wide"><label>${esc(t('a.reason'))}</label><textarea name="reason" rows="2" data-draft="application-${x.id}-reason"></textarea></div></div>
    <div class="form-error error" role="alert" hidden></div>
    <div class="form-buttons"><button type="button" class="primary" data-decision="approve">${esc(t('a.approve'))}</button>
      <button type="button" class="danger" data-decision="reject">${esc(t('a.reject'))}</button></div></form>` : ''}
  <section class="card info"><h3>${esc(t('a.request'))}</h3><dl class="kv">
    <dt>${esc(t('a.kind'))}</dt><dd>${esc(t(`a.kind.${x.kind}`))}</dd>
    <dt>${esc(t('a.region'))}</dt><dd>${regionHtml(x.region_code)}</dd>
    <dt>${esc(t('a.applicant'))}</dt><dd>${esc(actorText(x.applicant))} · ${esc(when(x.created_at, true))}</dd>
    ${x.description ? `<dt>${esc(t('a.description'))}</dt><dd>${esc(x.description)}</dd>` : ''}
    ${requestHtml(x)}
    ${x.decided_by ? `<dt>${esc(t('a.decided'))}</dt><dd>${esc(actorText(x.decided_by))} · ${esc(when(x.decided_at, true))}${x.reason ? ` · ${esc(x.reason)}` : ''}</dd>` : ''}
    ${result ? `<dt>${esc(t('a.result'))}</dt><dd>${result}</dd>` : ''}
  </dl></section>`;
  const form = a.detailEl.querySelector('form.decide');
  if (!form) return;
  if (keptReason) form.elements.reason.value = keptReason;
  keepDrafts(form);
  form.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-decision]');
    if (!b) return;
    const approve = b.dataset.decision === 'approve';
    const reason = form.elements.reason.value.trim();
    if (!approve && !reason) { showFormError(form, t('f.required', { field: t('a.reason') })); form.elements.reason.focus(); return; }
    showFormError(form, '');
    form.querySelectorAll('button').forEach((x2) => { x2.disabled = true; });
    try {
      const done = await api('POST', `/applications/${x.id}/decision`, { approve, reason: reason || null }, { idempotencyKey: idempotencyKey() });
      clearDrafts([`application-${x.id}-reason`]);
      toast(t('a.decision_done', { decision: t(approve ? 'a.approve' : 'a.reject') }));
      apply({ topic: `application.${done.status}`, payload: { application: done } });
      open(x.id, true);
    } catch (error) {
      if (!(error instanceof ApiFailure && error.status === 401)) showFormError(form, failureText(error));
      form.querySelectorAll('button').forEach((x2) => { x2.disabled = false; });
    }
  });
}

/** A community's application form. */
function newForm() {
  const j = state.me?.jurisdiction;
  const places = [...state.regions.values()].filter((r) => ['community', 'grid'].includes(r.level) && (!j || r.code.startsWith(j)))
    .sort((x, y) => x.code.localeCompare(y.code));
  const categories = [...state.taxonomy.values()];
  const depts = state.orgList.filter((o) => o.kind === 'department');
  a.detailEl.innerHTML = `
  <div class="d-head"><div class="d-title"><h2>＋ ${esc(t('a.new'))}</h2></div></div>
  <form class="card application-form" novalidate>
    <div class="fields">
      <div class="field"><label>${esc(t('a.kind'))}</label><select name="kind" data-draft="app-kind">
        ${['work_order', 'whistle', 'resource'].map((k) => `<option value="${k}">${esc(t(`a.kind.${k}`))}</option>`).join('')}</select></div>
      <div class="field"><label>${esc(t('a.region'))}</label><select name="region_code" data-draft="app-region">
        ${places.map((p) => `<option value="${esc(p.code)}">${p.level === 'grid' ? '　' : ''}${esc(p.name)}</option>`).join('')}</select></div>
      <div class="field wide"><label>${esc(t('a.title'))}<i class="req">*</i></label><input name="title" data-draft="app-title" required></div>
      <div class="field wide"><label>${esc(t('a.description'))}</label><textarea name="description" rows="3" data-draft="app-description"></textarea></div>
      <div class="field k-work_order"><label>${esc(t('o.category'))}</label><select name="category" data-draft="app-category">
        ${categories.map((c) => `<option value="${esc(c.code)}">${esc(categoryName(c.code))}</option>`).join('')}</select></div>
      <div class="field k-work_order"><label>${esc(t('o.urgency'))}</label><select name="urgency" data-draft="app-urgency"><option value="">—</option>
        ${['emergency', 'utility', 'ordinary', 'complex'].map((u) => `<option value="${u}">${esc(label('urgency', u))}</option>`).join('')}</select></div>
      <div class="field k-whistle"><label>${esc(t('w.urgency'))}</label><select name="w_urgency"><option value="emergency">${esc(t('w.emergency'))}</option><option value="routine">${esc(t('w.routine'))}</option></select></div>
      <div class="field wide k-whistle"><label>${esc(t('w.departments'))}</label><div class="dept-grid">${depts.map((o) => `<label class="dept"><input type="checkbox" name="departments" value="${esc(o.code)}"> ${esc(o.name)}</label>`).join('')}</div></div>
      <div class="field wide k-resource"><label>${esc(t('a.what'))}</label><input name="what" data-draft="app-what"></div>
    </div>
    <div class="form-error error" role="alert" hidden></div>
    <div class="form-buttons"><button type="submit" class="primary">${esc(t('submit'))}</button><button type="button" class="cancel">${esc(t('f.cancel'))}</button></div>
  </form>`;
  const form = a.detailEl.querySelector('form');
  keepDrafts(form);
  const sync = () => {
    const kind = form.elements.kind.value;
    form.querySelectorAll('.k-work_order, .k-whistle, .k-resource').forEach((el) => { el.hidden = !el.classList.contains(`k-${kind}`); });
  };
  sync();
  form.elements.kind.addEventListener('change', sync);
  form.querySelector('.cancel').addEventListener('click', () => go('approvals'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = form.elements;
    const title = f.title.value.trim();
    if (!title) { showFormError(form, t('f.required', { field: t('a.title') })); return; }
    const kind = f.kind.value;
    const region = f.region_code.value || null;
    let request;
    if (kind === 'work_order') request = { category: f.category.value, region_code: region, title, description: f.description.value.trim() || null, ...(f.urgency.value ? { urgency: f.urgency.value } : {}) };
    else if (kind === 'whistle') request = { title, urgency: f.w_urgency.value, departments: [...form.querySelectorAll('input[name=departments]:checked')].map((c) => c.value), region_code: region };
    else request = { what: f.what.value.trim() };
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const created = await api('POST', '/applications', { kind, title, description: f.description.value.trim() || null, region_code: region, request }, { idempotencyKey: idempotencyKey() });
      clearDrafts(['app-kind', 'app-region', 'app-title', 'app-description', 'app-category', 'app-urgency', 'app-what']);
      toast(t('a.submitted'));
      apply({ topic: 'application.created', payload: { application: created } });
      go(`approvals/${created.id}`);
    } catch (error) {
      if (!(error instanceof ApiFailure && error.status === 401)) showFormError(form, failureText(error));
    } finally { button.disabled = false; }
  });
}
