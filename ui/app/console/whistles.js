// 吹哨报到: blow the whistle on a problem, summoning departments; watch each department's report
// (acknowledge, check in on site by the deadline, record what was done); the lead closes it.
import { api, get, keepDrafts, clearDrafts, toast, ApiFailure } from '/shared/api.js';
import { t, label, when, lang } from '/shared/i18n.js';
import { state, loadPage, listFootHtml, wireList, wireSegments, esc, regionHtml, regionName, unitName, isMyUnit, actorText, failureText, showFormError, emptyHtml, go, idempotencyKey, tickCountdowns } from './common.js';

const WHISTLE_ROLES = new Set(['community_secretary', 'street_dispatcher', 'street_leader', 'leader']);
const STEP_WORDS = {
  summoned: ['吹哨召集', 'Summoned'], acknowledged: ['部门响应', 'Acknowledged'], checked_in: ['到场报到', 'Checked in'],
  recorded: ['处置记录', 'Recorded'], closed: ['结束吹哨', 'Closed'], approved: ['批准', 'Approved'], applied: ['申请', 'Applied'],
};
const stepLabel = (a) => (STEP_WORDS[a] ? STEP_WORDS[a][lang() === 'en' ? 1 : 0] : label('action', a));

const w = {
  root: null, list: null, detailEl: null, status: 'open', items: new Map(), ids: [], cursor: null, loaded: false, loading: false,
  seq: 0, buffer: [], selected: null, dseq: 0, countListeners: [], openCount: 0,
};

export function onCount(fn) { w.countListeners.push(fn); }
function setCount(n) { w.openCount = n; w.countListeners.forEach((fn) => fn(n)); }

export async function prefetchCount() {
  if (w.loaded) return;
  try { setCount((await get('/whistles?status=open&limit=100')).items.length); } catch (_) { /* no count */ }
}

export function init(root) {
  w.root = root;
  root.innerHTML = `
  <div class="list-pane">
    <div class="pane-head">
      <div class="head-row">
        <div class="seg">
          <button type="button" data-status="open">${esc(t('w.open'))}</button>
          <button type="button" data-status="closed">${esc(t('w.closed'))}</button>
          <button type="button" data-status="">${esc(t('a.all'))}</button>
        </div>
        <button type="button" class="icon-btn refresh" title="${esc(t('refresh'))}">↻</button>
      </div>
      <div class="filters">
        ${WHISTLE_ROLES.has(state.user.role) ? `<button type="button" class="primary new-whistle">✆ ${esc(t('w.new'))}</button>` : ''}
      </div>
    </div>
    <div id="whistles" class="list" role="list"></div>
    ${listFootHtml()}
  </div>
  <div id="whistle-detail" class="detail-pane"><div class="placeholder">${esc(t('w.pick'))}</div></div>`;
  w.list = root.querySelector('#whistles');
  w.detailEl = root.querySelector('#whistle-detail');
  wireSegments(w, 'status', () => w.status, (status) => { w.status = status; }, load);
  root.querySelector('.new-whistle')?.addEventListener('click', () => go('whistles/new'));
  wireList(w, { load, row: '.whistle-row', route: (row) => `whistles/${row.dataset.whistleId}` });
}

export async function show(params) {
  if (!w.loaded && !w.loading) load(true);
  if (params[0] === 'new') { w.selected = null; mark(); newForm(params[1] ? Number(params[1]) : null); return; }
  const id = params[0] ? Number(params[0]) : null;
  if (id) await open(id);
  else { w.selected = null; mark(); w.detailEl.innerHTML = `<div class="placeholder">${esc(t('w.pick'))}</div>`; }
}

export function reload() { load(true); if (w.selected) open(w.selected); }

function load(reset) {
  return loadPage(w, '/whistles', { status: w.status, limit: 50 }, reset, { render, apply });
}

function summonsState(s) {
  if (s.action) return 'recorded';
  if (s.checked_in_at) return 'checked_in';
  if (s.acknowledged_at) return 'acknowledged';
  return 'pending';
}

function progress(x) {
  const n = x.summons.filter((s) => s.checked_in_at).length;
  return t('w.reported', { n, m: x.summons.length });
}

function rowHtml(x) {
  const late = x.status === 'open' && new Date(x.deadline).getTime() < Date.now() && x.summons.some((s) => !s.checked_in_at);
  return `<div class="whistle-row${x.id === w.selected ? ' selected' : ''}" data-whistle-id="${x.id}" data-status="${esc(x.status)}" role="listitem" tabindex="0">
    <div class="r1"><span class="oid">#${x.id}</span><span class="otitle">${esc(x.title)}</span>
      <span class="status ${x.status === 'open' ? 'st-dispatched' : 'st-closed'}">${esc(t(x.status === 'open' ? 'w.open' : 'w.closed'))}</span></div>
    <div class="r2">${x.urgency === 'emergency' ? `<span class="tag bad">${esc(lang() === 'en' ? 'Emergency' : '紧急')}</span>` : `<span class="tag">${esc(lang() === 'en' ? 'Routine' : '常规')}</span>`}
      ${regionHtml(x.region_code)}<span class="dot">·</span><span class="muted">${esc(unitName(x.lead))}</span></div>
    <div class="r3"><span class="dots">${x.summons.map((s) => `<i class="sdot s-${summonsState(s)}" title="${esc(unitName(s.org))}"></i>`).join('')}</span>
      <span class="muted small">${esc(progress(x))}</span>
      ${x.status === 'open' ? `<span class="sla ${late ? 'sla-over' : 'sla-warn'}" data-countdown="${esc(x.deadline)}"></span>` : `<span class="sla sla-done">${esc(when(x.closed_at))}</span>`}</div>
  </div>`;
}

function render() {
  w.list.innerHTML = w.ids.length ? w.ids.map((id) => rowHtml(w.items.get(id))).join('') : emptyHtml(t('w.none'));
  w.root.querySelector('.list-foot .count').textContent = `${t('q.loaded', { n: w.ids.length })}${w.cursor ? '' : ` · ${t('q.end')}`}`;
  w.root.querySelector('.list-foot .more').hidden = !w.cursor;
  tickCountdowns();
  if (w.status === 'open') setCount(w.ids.length);
}

function mark() {
  w.list?.querySelectorAll('.whistle-row').forEach((r) => r.classList.toggle('selected', Number(r.dataset.whistleId) === w.selected));
}

export function onLive(message) {
  if (!message.topic.startsWith('whistle.')) return;
  if (!w.loaded) { w.buffer.push(message); return; }
  apply(message);
}

function apply(message) {
  const x = message.payload?.whistle;
  if (!x) return;
  const old = w.items.get(x.id);
  if (old && old.version > x.version) return;
  const fits = !w.status || w.status === x.status;
  if (fits) {
    if (!old) w.ids.unshift(x.id);
    w.items.set(x.id, x);
    const tpl = document.createElement('template');
    tpl.innerHTML = rowHtml(x).trim();
    const row = tpl.content.firstElementChild;
    row.classList.add(old ? 'changed' : 'fresh');
    const existing = w.list.querySelector(`.whistle-row[data-whistle-id="${x.id}"]`);
    if (existing) existing.replaceWith(row); else { w.list.querySelector('.empty')?.remove(); w.list.prepend(row); }
    setTimeout(() => row.classList.remove('fresh', 'changed'), 2500);
    tickCountdowns();
  } else if (old && x.id !== w.selected) {
    w.items.delete(x.id);
    w.ids = w.ids.filter((id) => id !== x.id);
    w.list.querySelector(`.whistle-row[data-whistle-id="${x.id}"]`)?.remove();
  }
  if (w.status === 'open') setCount(w.ids.length);
  if (x.id === w.selected) open(x.id, true);
}

async function open(id, keep = false) {
  const seq = ++w.dseq;
  w.selected = id;
  mark();
  if (!keep) w.detailEl.innerHTML = `<div class="placeholder">${esc(t('loading'))}</div>`;
  let x;
  try { x = await get(`/whistles/${id}`); } catch (error) {
    if (seq !== w.dseq) return;
    w.detailEl.innerHTML = `<div class="placeholder error">${esc(failureText(error))}</div>`;
    return;
  }
  if (seq !== w.dseq) return;
  const scroll = w.detailEl.scrollTop;
  const keepForm = keep ? w.detailEl.querySelector('.report-panel') : null;
  const mySummons = state.user.org_code ? x.summons.find((s) => s.org.code === state.user.org_code) : null;
  const canClose = x.status === 'open' && (isMyUnit(x.lead) || ['leader', 'street_leader'].includes(state.user.role) || x.blown_by?.user_id === state.user.id);
  const deadlinePassed = new Date(x.deadline).getTime() < Date.now();
  const allDone = x.summons.every((s) => s.checked_in_at && s.action);
  const rows = x.summons.map((s) => {
    const st = summonsState(s);
    const onTime = s.on_time === true ? `<span class="tag ok">${esc(t('w.ontime'))}</span>` : s.on_time === false ? `<span class="tag bad">${esc(t('w.late'))}</span>` : '';
    const overdue = !s.checked_in_at && deadlinePassed ? `<span class="tag bad">${esc(t('w.late'))}</span>` : '';
    return `<tr class="summons-row" data-org="${esc(s.org.code)}" data-state="${st}">
      <td><b>${esc(unitName(s.org))}</b></td>
      <td><span class="summons-status s-${st}"><i class="sdot s-${st}"></i>${esc(t(`w.status.${st}`))}</span></td>
      <td>${s.acknowledged_at ? esc(when(s.acknowledged_at)) : '—'}</td>
      <td>${s.checked_in_at ? `${esc(when(s.checked_in_at))} ${onTime}` : overdue || '—'}</td>
      <td>${s.action ? esc(s.action) : '—'}</td></tr>`;
  }).join('');
  w.detailEl.innerHTML = `
  <div class="d-head">
    <div class="d-title"><span class="oid">#${x.id}</span><h2>${esc(x.title)}</h2><span class="status ${x.status === 'open' ? 'st-dispatched' : 'st-closed'}">${esc(t(x.status === 'open' ? 'w.open' : 'w.closed'))}</span></div>
    <div class="d-tags">${x.urgency === 'emergency' ? `<span class="tag bad">${esc(t('w.emergency'))}</span>` : `<span class="tag">${esc(t('w.routine'))}</span>`}</div>
    <div class="d-sla">${x.status === 'open' ? `<span class="sla ${deadlinePassed ? 'sla-over' : 'sla-warn'}" data-countdown="${esc(x.deadline)}"></span>` : ''}</div>
  </div>
  ${canClose || x.order_id ? `<div class="d-actions">
    ${canClose ? `<button type="button" class="primary close-whistle" data-whistle-action="close" ${allDone ? '' : `disabled title="${esc(t('w.close_wait'))}"`}>${esc(t('w.close'))}</button>` : ''}
    ${x.order_id ? `<a class="button-link" href="#/queue/${x.order_id}">${esc(t('w.order'))} #${x.order_id}</a>` : ''}
  </div>` : ''}
  <div class="form-error error" role="alert" hidden></div>
  <section class="card"><h3>${esc(t('w.summons'))} <span class="muted small">${esc(progress(x))}</span></h3>
    <table class="summons"><thead><tr><th>${esc(t('w.dept'))}</th><th>${esc(t('q.status'))}</th><th>${esc(t('w.ack'))}</th><th>${esc(t('w.checkin'))}</th><th>${esc(t('w.record'))}</th></tr></thead>
    <tbody>${rows}</tbody></table></section>
  <div class="report-slot"></div>
  <section class="card info"><h3>${esc(t('w.info'))}</h3><dl class="kv">
    <dt>${esc(t('w.region'))}</dt><dd>${regionHtml(x.region_code)}</dd>
    <dt>${esc(t('w.lead'))}</dt><dd>${esc(unitName(x.lead))}</dd>
    <dt>${esc(t('w.blown_by'))}</dt><dd>${esc(actorText(x.blown_by))}</dd>
    <dt>${esc(t('w.created'))}</dt><dd>${esc(when(x.created_at, true))}</dd>
    <dt>${esc(t('w.deadline'))}</dt><dd>${esc(when(x.deadline, true))}</dd>
    ${x.note ? `<dt>${esc(t('w.note'))}</dt><dd>${esc(x.note)}</dd>` : ''}
  </dl></section>
  <section class="card"><h3>${esc(t('w.history'))}</h3><ol class="timeline">${x.history.slice().reverse().map((h) => `
    <li class="entry" data-action="${esc(h.action)}"><div class="e-head"><b class="e-action">${esc(stepLabel(h.action))}</b><span class="e-time">${esc(when(h.at, true))}</span></div>
    <div class="e-meta">${esc(actorText(h.actor))}${h.from_unit ? ` · ${esc(unitName(h.from_unit))}` : ''}</div>${h.note ? `<div class="e-note">${esc(h.note)}</div>` : ''}</li>`).join('')}</ol></section>`;
  w.detailEl.scrollTop = scroll;
  tickCountdowns();
  w.detailEl.querySelector('.close-whistle')?.addEventListener('click', async (e) => {
    e.target.disabled = true;
    try {
      await api('POST', `/whistles/${x.id}/close`, {}, { idempotencyKey: idempotencyKey() });
      toast(t('f.done', { action: t('w.close') }));
      open(x.id, true);
    } catch (error) {
      if (!(error instanceof ApiFailure && error.status === 401)) showFormError(w.detailEl, failureText(error));
    } finally { e.target.disabled = false; }
  });
  if (mySummons && x.status === 'open') {
    const slot = w.detailEl.querySelector('.report-slot');
    if (keepForm) slot.replaceWith(keepForm); else slot.replaceWith(reportPanel(x, mySummons));
  }
}

/** The summoned department's own report: acknowledge, check in on site, record. */
function reportPanel(x, s) {
  const pos = x.position || state.regions.get(x.region_code)?.position || null;
  const section = document.createElement('section');
  section.className = 'card report-panel';
  const st = summonsState(s);
  section.innerHTML = `<h3>${esc(t('w.report'))} · ${esc(unitName(s.org))}</h3>
  <form class="report-form" novalidate>
    <div class="fields">
      <div class="field"><label>${esc(t('w.lon'))}</label><input name="lon" inputmode="decimal" value="${pos ? pos.lon.toFixed(6) : ''}"></div>
      <div class="field"><label>${esc(t('w.lat'))}</label><input name="lat" inputmode="decimal" value="${pos ? pos.lat.toFixed(6) : ''}"></div>
      <div class="field wide"><label>${esc(t('w.action'))}</label><textarea name="action" rows="2" data-draft="whistle-${x.id}-action"></textarea></div>
    </div>
    <div class="form-error error" role="alert" hidden></div>
    <div class="form-buttons">
      <button type="button" data-step="acknowledge" ${st !== 'pending' ? 'disabled' : ''}>${esc(t('w.step.acknowledge'))}</button>
      <button type="button" data-step="check_in" class="primary" ${s.checked_in_at ? 'disabled' : ''}>${esc(t('w.step.check_in'))}</button>
      <button type="button" data-step="record" ${s.action ? 'disabled' : ''}>${esc(t('w.step.record'))}</button>
    </div>
  </form>`;
  const form = section.querySelector('form');
  keepDrafts(section);
  form.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-step]');
    if (!b) return;
    const body = { step: b.dataset.step, org_code: s.org.code };
    if (body.step === 'check_in') { body.lon = Number(form.elements.lon.value); body.lat = Number(form.elements.lat.value); }
    if (body.step === 'record') {
      body.action = form.elements.action.value.trim();
      if (!body.action) { showFormError(form, t('f.required', { field: t('w.action') })); return; }
    }
    showFormError(form, '');
    b.disabled = true;
    try {
      await api('POST', `/whistles/${x.id}/reports`, body, { idempotencyKey: idempotencyKey() });
      if (body.step === 'record') clearDrafts([`whistle-${x.id}-action`]);
      toast(t('f.done', { action: t(`w.step.${body.step}`) }));
      open(x.id, false);
    } catch (error) {
      if (!(error instanceof ApiFailure && error.status === 401)) showFormError(form, failureText(error));
      b.disabled = false;
    }
  });
  return section;
}

/** The form that blows a whistle, optionally about an order. */
async function newForm(orderId) {
  let order = null;
  if (orderId) order = await get(`/orders/${orderId}`).catch(() => null);
  const depts = state.orgList.filter((o) => o.kind === 'department');
  const others = state.orgList.filter((o) => !['department', 'community_committee'].includes(o.kind));
  const j = state.me?.jurisdiction;
  const places = [...state.regions.values()].filter((r) => ['street', 'community'].includes(r.level) && (!j || r.code.startsWith(j)))
    .sort((a, b) => a.code.localeCompare(b.code));
  const defaultPlace = order?.region_code || state.user.region_code || '';
  if (defaultPlace && !places.some((p) => p.code === defaultPlace)) places.unshift({ code: defaultPlace, name: regionName(defaultPlace), level: '' });
  const suggested = order?.suggested_org_code;
  const check = (o) => `<label class="dept"><input type="checkbox" name="departments" value="${esc(o.code)}" ${o.code === suggested ? 'checked' : ''}> ${esc(o.name)}</label>`;
  w.detailEl.innerHTML = `
  <div class="d-head"><div class="d-title"><h2>✆ ${esc(t('w.new'))}</h2></div></div>
  <form class="card whistle-form" novalidate>
    <div class="fields">
      <div class="field wide"><label>${esc(t('w.title'))}<i class="req">*</i></label><input name="title" data-draft="whistle-title" value="${esc(order ? order.title : '')}" required></div>
      <div class="field"><label>${esc(t('w.urgency'))}</label><select name="urgency" data-draft="whistle-urgency">
        <option value="emergency">${esc(t('w.emergency'))}</option><option value="routine">${esc(t('w.routine'))}</option></select></div>
      <div class="field"><label>${esc(t('w.region'))}</label><select name="region_code" data-draft="whistle-region">
        ${places.map((p) => `<option value="${esc(p.code)}" ${p.code === defaultPlace ? 'selected' : ''}>${esc(p.name)}</option>`).join('')}</select></div>
      <div class="field"><label>${esc(t('w.deadline'))}</label><input type="datetime-local" name="deadline" data-draft="whistle-deadline"></div>
      <div class="field"><label>${esc(t('w.order'))}</label><input name="order_id" value="${orderId || ''}" inputmode="numeric" data-draft="whistle-order"></div>
      <div class="field wide"><label>${esc(t('w.departments'))}<i class="req">*</i></label><div class="dept-grid">${depts.map(check).join('')}</div>
        ${others.length ? `<div class="dept-grid secondary">${others.map(check).join('')}</div>` : ''}</div>
      <div class="field wide"><label>${esc(t('w.note'))}</label><textarea name="note" rows="3" data-draft="whistle-note"></textarea></div>
    </div>
    <div class="form-error error" role="alert" hidden></div>
    <div class="form-buttons"><button type="submit" class="primary">✆ ${esc(t('w.new'))}</button><button type="button" class="cancel">${esc(t('f.cancel'))}</button></div>
  </form>`;
  const form = w.detailEl.querySelector('form');
  keepDrafts(form);
  form.querySelector('.cancel').addEventListener('click', () => go('whistles'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = form.elements;
    const departments = [...form.querySelectorAll('input[name=departments]:checked')].map((c) => c.value);
    const title = f.title.value.trim();
    if (!title) { showFormError(form, t('f.required', { field: t('w.title') })); return; }
    if (!departments.length) { showFormError(form, t('w.need_dept')); return; }
    const body = { title, urgency: f.urgency.value, departments, region_code: f.region_code.value || null, note: f.note.value.trim() || null };
    if (f.deadline.value) body.deadline = new Date(f.deadline.value).toISOString();
    if (f.order_id.value.trim()) body.order_id = Number(f.order_id.value.trim());
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const created = await api('POST', '/whistles', body, { idempotencyKey: idempotencyKey() });
      clearDrafts(['whistle-title', 'whistle-urgency', 'whistle-region', 'whistle-deadline', 'whistle-order', 'whistle-note']);
      toast(t('f.done', { action: t('w.new') }));
      apply({ topic: 'whistle.created', payload: { whistle: created } });
      go(`whistles/${created.id}`);
    } catch (error) {
      if (!(error instanceof ApiFailure && error.status === 401)) showFormError(form, failureText(error));
    } finally { button.disabled = false; }
  });
}
