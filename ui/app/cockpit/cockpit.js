// The leadership cockpit (大屏观态势): a place's situation on one 1920×1080 screen, kept live by
// the stream of committed changes. Counters move the moment a change arrives; the exact figures
// are fetched again at most once a second. The feed and the markers are capped, so a thousand
// events a minute cost the same memory as ten.
import { get, getAll, errorText, requireSession, esc, toast, query, logout, HOME } from '/shared/api.js';
import { t, label, applyI18n, langButton, lang } from '/shared/i18n.js';
import { follow } from '/shared/live.js';
import { categoryName } from './words.js';
import * as C from './charts.js';
import { openBuilding, closeBuilding, buildingOpen, rerenderBuilding } from './building.js';

const FEED_CAP = 50;
const MARKER_CAP = 300;
const REFETCH_MS = 1000;
const SCENES = ['throwing', 'illegal_parking', 'fire_lane_blocked', 'intrusion', 'crowd', 'group_rental', 'bin_overflow'];
const OPEN = new Set(['new', 'dispatched', 'accepted', 'in_progress', 'returned']);
const ROLES = Object.keys(HOME).filter((r) => r !== 'resident');

const me = (() => { try { return requireSession(ROLES); } catch (_) { return null; } })();
// Without a session (or for a resident) the browser is on its way to login or to its own screen.
if (!me) await new Promise(() => {});
const $ = (id) => document.getElementById(id);

const S = {
  code: new URLSearchParams(location.search).get('region') || null,
  data: null, // the latest /cockpit report, counters bumped in place
  region: null,
  areas: [],
  ancestors: [],
  taxonomy: new Map(),
  places: new Map(), // code -> { name, level, pos: [lon, lat], parent }
  buildings: [],
  devices: [],
  feed: [], // newest first, at most FEED_CAP
  markers: [], // oldest first, at most MARKER_CAP (a ring: the oldest falls off)
  seen: new Set(),
  loaded: false,
  pending: [],
  lastMessageId: null,
  map: null, // { name, extent }
};
let loadToken = 0;
let scale = 1;

// --- The stage: 1920×1080, scaled to fit and letterboxed -----------------------------------------

const stage = $('stage');
function fit() {
  scale = Math.min(innerWidth / 1920, innerHeight / 1080);
  stage.style.transform = `translate(${(innerWidth - 1920 * scale) / 2}px, ${(innerHeight - 1080 * scale) / 2}px) scale(${scale})`;
}
fit();
addEventListener('resize', fit);

applyI18n();
$('lang-slot').appendChild(langButton(() => { applyI18n(); renderAll(); rerenderBuilding(); }));
$('logout').addEventListener('click', () => logout());
$('up').addEventListener('click', () => { const up = S.ancestors[S.ancestors.length - 2]; if (up) navigate(up.code); });

const charts = {
  map: C.chart($('map'), scale),
  rates: ['response', 'resolution', 'satisfaction'].map((k) => C.chart($(`chart-rate-${k}`), scale)),
  categories: C.chart($('chart-categories'), scale),
  devices: C.chart($('chart-devices'), scale),
  trend: C.chart($('chart-trend'), scale),
  areas: C.chart($('chart-areas'), scale),
};
let areaCodes = [];

charts.map.on('click', (p) => {
  if (p.seriesId === 'buildings' && p.data?.code) { openBuilding(p.data.code, p.data.name); return; }
  if (p.seriesId === 'events' || p.seriesId === 'recent' || p.seriesId === 'devices') {
    // Markers sit on buildings: a click on one next to a building means the building.
    const near = nearestBuilding(p.event?.offsetX, p.event?.offsetY);
    if (near) openBuilding(near.code, near.name);
    return;
  }
  if (p.seriesId === 'areas' || p.seriesId === 'pins' || p.seriesId === 'areaNames' || p.componentType === 'geo') {
    const code = p.data?.code || p.name;
    const area = S.areas.find((a) => a.code === code);
    if (area) drill(area);
  }
});
charts.areas.on('click', (p) => {
  const code = p.componentType === 'yAxis' ? areaCodes[p.dataIndex ?? areaCodes.findIndex((c) => shortName(c) === p.value)] : areaCodes[p.dataIndex];
  const area = S.areas.find((a) => a.code === code);
  if (area) drill(area);
});

function nearestBuilding(x, y, within = 16) {
  if (x == null || !['community', 'grid'].includes(S.region?.level)) return null;
  let best = null;
  let bestD = within;
  for (const b of S.buildings) {
    if (!b.position) continue;
    const [bx, by] = charts.map.convertToPixel({ geoIndex: 1 }, [b.position.lon, b.position.lat]);
    const d = Math.hypot(bx - x, by - y);
    if (d < bestD) { bestD = d; best = b; }
  }
  return best;
}

function drill(area) {
  if (['building', 'unit', 'dwelling'].includes(area.level)) openBuilding(area.code, area.name);
  else navigate(area.code);
}

// --- Navigation: ?region=CODE, with history ------------------------------------------------------

function navigate(code, replace = false) {
  const url = code ? `${location.pathname}?region=${encodeURIComponent(code)}` : location.pathname;
  history[replace ? 'replaceState' : 'pushState']({ code }, '', url);
  load(code);
}
addEventListener('popstate', () => load(new URLSearchParams(location.search).get('region')));

// --- Live: follow first, then load ----------------------------------------------------------------

function setLive(state) {
  const el = $('live-state');
  el.className = `live-state ${state}`;
  el.dataset.state = state;
  el.textContent = t(`live.${state}`);
}
setLive('connecting');

let liveUp;
const liveReady = new Promise((resolve) => { liveUp = resolve; });
const live = follow({
  topics: ['event.', 'order.'],
  onMessage(message) {
    S.lastMessageId = message.id;
    stats.latency = Date.now() - Date.parse(message.at);
    if (!S.loaded) {
      S.pending.push(message);
      if (S.pending.length > 2000) S.pending.shift();
      return;
    }
    apply(message, true);
  },
  onLagged() { load(S.code); },
  onState(state) {
    setLive(state);
    if (state === 'online') liveUp();
  },
});

function inScope(code) {
  if (!code) return false;
  if (!S.region) return true;
  if (code.startsWith(S.region.code)) return true;
  // A grid's buildings are coded under the community, not the grid.
  return S.areas.some((a) => code.startsWith(a.code));
}

function areaOf(code) {
  const direct = S.areas.find((a) => code.startsWith(a.code));
  if (direct) return direct;
  const building = S.buildings.find((b) => code.startsWith(b.code));
  return building ? S.areas.find((a) => a.code === building.parent_code) : null;
}

function sceneOf(event) {
  const alarm = event.attributes?.alarm_type;
  if (alarm) {
    const code = SCENES.find((s) => s === alarm || label('scene', s) === alarm);
    if (code && code !== 'group_rental' && code !== 'bin_overflow') return code;
  }
  if (event.attributes?.rule === 'bin_full') return 'bin_overflow';
  return event.category === 'build.group_rental' ? 'group_rental' : null;
}

function bump(list, key, value, field = 'count') {
  const row = list.find((r) => r[key] === value);
  if (row) row[field] += 1;
  else list.push({ [key]: value, [field]: 1 });
}

function apply(message, live) {
  const d = S.data;
  if (message.topic === 'event.created') {
    const event = message.payload?.event;
    if (!event || !inScope(event.region_code)) return;
    if (!addEvent(event, live)) return;
    if (live) {
      d.events_today += 1;
      bump(d.events_by_category, 'category', event.category);
      d.events_by_category.sort((a, b) => b.count - a.count);
      const scene = sceneOf(event);
      if (scene) { bump(d.scenes, 'scene', scene); flash.add(`scene:${scene}`); }
      const today = beijingDay(Date.now());
      const row = d.trend.find((r) => r.day === today && r.category === event.category);
      if (row) row.count += 1; else d.trend.push({ day: today, category: event.category, count: 1 });
      const area = areaOf(event.region_code);
      if (area) area.events_today += 1;
      flash.add('kpi-events-today');
      mark('kpis', 'scenes', 'categories', 'trend', 'areas', 'areaColours');
    }
    refetchSoon();
  } else if (message.topic.startsWith('order.')) {
    const order = message.payload?.order;
    if (!order || !inScope(order.region_code)) return;
    if (live) {
      const action = message.topic.slice('order.'.length);
      const area = areaOf(order.region_code);
      if (action === 'created') {
        d.orders_today += 1;
        flash.add('kpi-orders-today');
        if (OPEN.has(order.status)) { d.orders_open += 1; flash.add('kpi-open'); if (area) area.orders_open += 1; }
      } else if (action === 'overdue') {
        d.orders_overdue += 1;
        flash.add('kpi-overdue');
        if (area) area.orders_overdue += 1;
      } else if (action === 'close') {
        d.orders_closed_today += 1;
        flash.add('kpi-closed-today');
      }
      mark('kpis', 'areas');
    }
    refetchSoon();
  }
}

/** Keeps an event in the feed and the markers (each once); false when already there. */
function addEvent(event, fresh = false) {
  if (S.seen.has(event.id)) return false;
  S.seen.add(event.id);
  const kept = { id: event.id, title: event.title, category: event.category, severity: event.severity, source: event.source, region_code: event.region_code, position: event.position, occurred_at: event.occurred_at, fresh };
  S.feed.unshift(kept);
  if (S.feed.length > FEED_CAP) S.feed.length = FEED_CAP;
  S.markers.push(kept);
  if (S.markers.length > MARKER_CAP) S.markers.splice(0, S.markers.length - MARKER_CAP);
  if (S.seen.size > 4 * MARKER_CAP) S.seen = new Set([...S.markers, ...S.feed].map((e) => e.id));
  mark('feed', 'markers');
  return true;
}

// --- Batched rendering: DOM at most ~8 times a second, charts at most once a second ------------

const dirty = new Set();
const flash = new Set();
const SLOW = new Set(['categories', 'trend', 'areas', 'areaColours', 'markers']);
let fastTimer = null;
let slowTimer = null;
let lastSlow = 0;

function mark(...what) {
  what.forEach((w) => dirty.add(w));
  if (!fastTimer) fastTimer = setTimeout(flushFast, 120);
  if (what.some((w) => SLOW.has(w)) && !slowTimer) slowTimer = setTimeout(flushSlow, Math.max(150, lastSlow + 1000 - Date.now()));
}

const stats = { latency: null, fast: 0, slow: 0 };
const timed = (kind, fn) => () => { const t0 = performance.now(); fn(); stats[kind] = Math.max(stats[kind], performance.now() - t0); };

const flushFast = timed('fast', () => {
  fastTimer = null;
  if (!S.data) return;
  if (dirty.delete('kpis')) renderKpis();
  if (dirty.delete('scenes')) renderScenes();
  if (dirty.delete('feed')) renderFeed();
  flash.clear();
});

const flushSlow = timed('slow', () => {
  slowTimer = null;
  lastSlow = Date.now();
  if (!S.data) return;
  if (dirty.delete('markers')) renderMarkers();
  if (dirty.delete('categories')) renderCategories();
  if (dirty.delete('trend')) renderTrend();
  if (dirty.delete('areas')) renderAreas();
  if (dirty.delete('areaColours')) renderAreaColours();
  if (dirty.delete('devices')) renderDevices();
});

// --- Exact figures: the cockpit again, at most once a second -------------------------------------

let refetchTimer = null;
let fetching = false;
let again = false;
let lastFetch = 0;

function refetchSoon() {
  if (fetching) { again = true; return; }
  if (refetchTimer) return;
  refetchTimer = setTimeout(refetch, Math.max(0, lastFetch + REFETCH_MS - Date.now()));
}

async function refetch() {
  refetchTimer = null;
  fetching = true;
  lastFetch = Date.now();
  const token = loadToken;
  try {
    const report = await get(`/cockpit${query({ region: S.region?.code })}`);
    if (token === loadToken && S.loaded) {
      hideError();
      takeReport(report);
      mark('kpis', 'scenes', 'categories', 'trend', 'areas', 'areaColours', 'devices', 'rates');
      renderRates();
    }
  } catch (error) {
    showError(error);
  } finally {
    fetching = false;
    if (again) { again = false; refetchSoon(); }
  }
}

function takeReport(report) {
  S.data = report;
  S.region = report.region;
  // Keep the geometry already drawn; take the counts.
  S.areas = report.areas;
  $('updated').textContent = t('updated', { time: timeOf(report.at) });
}

// --- Loading a place -----------------------------------------------------------------------------

const taxonomyReady = get('/taxonomy').then((list) => { list.forEach((c) => S.taxonomy.set(c.code, c)); }).catch(() => {});

function place(r) {
  if (r?.position) S.places.set(r.code, { name: r.name, level: r.level, pos: [r.position.lon, r.position.lat], parent: r.parent_code });
}

async function load(code) {
  const token = ++loadToken;
  S.loaded = false;
  window.__cockpit.settled = false;
  closeBuilding();
  try {
    const [report, events] = await Promise.all([
      get(`/cockpit${query({ region: code })}`),
      get(`/events${query({ within: code, limit: 100 })}`),
      taxonomyReady,
    ]);
    if (token !== loadToken) return;
    const level = report.region?.level;
    if (['building', 'unit', 'dwelling'].includes(level)) {
      // A building is shown on its grid's map, with its panel open.
      const chain = await get(`/regions/${encodeURIComponent(report.region.code)}/ancestors`);
      const building = chain.find((a) => a.level === 'building');
      navigate(building.parent_code, true);
      openBuilding(building.code, building.name);
      return;
    }
    hideError();
    S.code = report.region?.code || null;
    S.places = new Map();
    S.buildings = [];
    S.devices = [];
    S.feed = [];
    S.markers = [];
    S.seen = new Set();
    S.ancestors = report.region ? [report.region] : [];
    takeReport(report);
    place(report.region);
    report.areas.forEach(place);
    events.items.slice().reverse().forEach((e) => addEvent(e));
    const pending = S.pending;
    S.pending = [];
    S.loaded = true;
    pending.forEach((m) => apply(m, false));
    S.map = C.registerPlace(report.region, report.areas);
    S.feedReset = true;
    renderAll();
    if (window.__cockpit.loadedAt == null) window.__cockpit.loadedAt = Math.round(performance.now());
    window.__cockpit.loads += 1;
    background(token, code);
  } catch (error) {
    if (token === loadToken) showError(error);
  }
}

/** What the first screen can do without: the breadcrumb, devices, buildings and marker places. */
async function background(token, code) {
  const region = S.region;
  const level = region?.level;
  const within = region?.code;
  const jobs = [
    within ? get(`/regions/${encodeURIComponent(within)}/ancestors`).then((chain) => { if (token === loadToken) { S.ancestors = chain; renderCrumbs(); } }) : null,
    getAll('/devices', { within }).then((list) => { if (token === loadToken) { S.devices = list; renderMap(); } }),
    level !== 'grid' && level !== 'community'
      ? getAll('/regions', { within, level: 'community' }).then((list) => { if (token === loadToken) list.forEach(place); }) : null,
    level !== 'grid' ? getAll('/regions', { within, level: 'grid' }).then((list) => { if (token === loadToken) list.forEach(place); }) : null,
    getAll('/regions', { within, level: 'building' }).then((list) => {
      if (token !== loadToken) return;
      list.forEach(place);
      S.buildings = list;
    }),
  ].filter(Boolean);
  const results = await Promise.allSettled(jobs);
  if (token !== loadToken) return;
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) showError(failed.reason);
  renderMap();
  S.feedReset = true;
  renderFeed(); // the places now known name the feed's rows better
  window.__cockpit.settled = true;
  void code;
}

// --- Rendering -----------------------------------------------------------------------------------

const num = (n) => (n == null ? '—' : Number(n).toLocaleString('zh-CN'));
const pct = (v) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`);

function shortName(code) {
  const a = S.areas.find((x) => x.code === code) || S.buildings.find((x) => x.code === code);
  if (!a) return code;
  const parent = S.region?.name || '';
  return parent && a.name.startsWith(parent) && a.name.length > parent.length ? a.name.slice(parent.length) : a.name;
}

function renderAll() {
  if (!S.data) return;
  const name = S.region?.name || t('cockpit.everywhere');
  $('title').textContent = t('cockpit.title', { name });
  document.title = `${name} · ${t('screen.cockpit')}`;
  $('who').textContent = `${me.user.display_name || me.user.username} · ${label('role', me.user.role)}`;
  setLive($('live-state').dataset.state || 'connecting');
  $('updated').textContent = t('updated', { time: timeOf(S.data.at) });
  const child = S.areas[0]?.level;
  $('areas-title').textContent = t('panel.areas', { level: child ? (lang() === 'en' ? label('level', child).toLowerCase() : label('level', child)) : label('level', 'community') });
  renderCrumbs();
  renderKpis();
  renderRates(true);
  renderScenes();
  S.feedReset = true;
  renderFeed();
  renderCategories(true);
  renderDevices(true);
  renderTrend(true);
  renderAreas(true);
  renderMap();
  renderLegend();
  clock();
}

function renderCrumbs() {
  const chain = S.ancestors;
  $('crumbs').innerHTML = chain.map((a, i) => (i === chain.length - 1
    ? `<span class="here">${esc(a.name)}</span>`
    : `<a data-code="${esc(a.code)}">${esc(a.name)}</a><span class="sep">›</span>`)).join('');
  $('crumbs').querySelectorAll('a').forEach((a) => a.addEventListener('click', () => navigate(a.dataset.code)));
  $('up').hidden = chain.length < 2;
}

function setNum(id, value) {
  const el = $(id);
  const text = num(value);
  if (el.textContent !== text) {
    el.textContent = text;
    if (flash.has(id)) { el.classList.remove('bump'); void el.offsetWidth; el.classList.add('bump'); }
  }
}

function renderKpis() {
  const d = S.data;
  setNum('kpi-events-today', d.events_today);
  setNum('kpi-orders-today', d.orders_today);
  setNum('kpi-open', d.orders_open);
  setNum('kpi-overdue', d.orders_overdue);
  setNum('kpi-closed-today', d.orders_closed_today);
}

function renderRates(force) {
  const r = S.data.rates;
  const colours = [C.COLORS.cyan, C.COLORS.ok, C.COLORS.gold];
  [r.response_rate, r.resolution_rate, r.satisfaction_rate].forEach((v, i) => draw(`rate${i}`, charts.rates[i], v, () => C.rateOption(v, colours[i]), force));
  $('kpi-response-rate').textContent = pct(r.response_rate);
  $('kpi-resolution-rate').textContent = pct(r.resolution_rate);
  $('kpi-satisfaction-rate').textContent = pct(r.satisfaction_rate);
  const c = r.counts || {};
  const rated = (c.satisfied || 0) + (c.basically_satisfied || 0) + (c.unsatisfied || 0);
  $('rate-note').textContent = `${t('rate.note', { orders: num(c.orders), due: num(c.due), called_back: num(c.called_back), rated: num(rated) })}`
    + (r.response_rate == null && r.resolution_rate == null && r.satisfaction_rate == null ? ` · ${t('rate.none')}` : '');
}

const ICONS = {
  throwing: '<path d="M4 21V7l6-3v17M10 9h6v12M6 9h2M6 13h2M6 17h2"/><path d="M19 3v7m0 0-2-2m2 2 2-2"/>',
  illegal_parking: '<path d="M3 16v-4l2-5h14l2 5v4H3z"/><circle cx="7.5" cy="16.5" r="1.8"/><circle cx="16.5" cy="16.5" r="1.8"/><path d="M2 22 22 2"/>',
  fire_lane_blocked: '<path d="M12 22c-4 0-7-3-7-7 0-5 5-7 5-12 3 2 4 5 4 7 1-1 2-2 2-4 2 2 3 5 3 8 0 5-3 8-7 8z"/><path d="M12 22c-2 0-3-1.5-3-3.5S12 14 12 14s3 2.5 3 4.5-1 3.5-3 3.5z"/>',
  intrusion: '<path d="M12 2 4 5v6c0 5 3.5 9 8 11 4.5-2 8-6 8-11V5l-8-3z"/><path d="M12 8v5M12 16v.5"/>',
  crowd: '<circle cx="12" cy="7" r="3"/><circle cx="5" cy="9" r="2.2"/><circle cx="19" cy="9" r="2.2"/><path d="M6 21v-3a6 6 0 0 1 12 0v3M1 20v-2a4 4 0 0 1 4-4M23 20v-2a4 4 0 0 0-4-4"/>',
  group_rental: '<path d="M3 11 12 3l9 8v10H3z"/><circle cx="9" cy="14" r="1.6"/><circle cx="15" cy="14" r="1.6"/><path d="M7 20a2 2 0 0 1 4 0M13 20a2 2 0 0 1 4 0"/>',
  bin_overflow: '<path d="M5 8h14l-1.5 13h-11z"/><path d="M3 8h18M9 8V5h6v3M9 4l2-2M14 4l1-2M10 12v6M14 12v6"/>',
};

function renderScenes() {
  const counts = new Map((S.data.scenes || []).map((s) => [s.scene, s.count]));
  const list = $('scenes');
  if (!list.children.length || list.dataset.lang !== lang()) {
    list.dataset.lang = lang();
    list.innerHTML = SCENES.map((s) => `<li data-scene="${s}"><span class="scene-icon"><svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round">${ICONS[s]}</svg></span>`
      + `<b class="scene-count">0</b><span class="scene-label">${esc(label('scene', s))}</span></li>`).join('');
  }
  for (const li of list.children) {
    const n = counts.get(li.dataset.scene) || 0;
    const b = li.querySelector('.scene-count');
    if (b.textContent !== String(n)) {
      b.textContent = String(n);
      if (flash.has(`scene:${li.dataset.scene}`)) { b.classList.remove('bump'); void b.offsetWidth; b.classList.add('bump'); }
    }
    li.classList.toggle('hot', n > 0);
    li.dataset.count = String(n);
  }
}

const clockFormat = () => new Intl.DateTimeFormat(lang() === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
let timeFormat = clockFormat();
let timeLang = lang();
function timeOf(value) {
  if (timeLang !== lang()) { timeFormat = clockFormat(); timeLang = lang(); }
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : timeFormat.format(d);
}
const dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });
function beijingDay(ms) { return dayFormat.format(new Date(ms)); }

function placeOf(code) {
  for (let n = code.length; n > 0; n -= 1) {
    const p = S.places.get(code.slice(0, n));
    if (p) return { code: code.slice(0, n), ...p };
  }
  return null;
}

function placeName(code) {
  const p = placeOf(code);
  if (!p) return '';
  if (['building', 'unit', 'dwelling'].includes(p.level)) {
    for (let n = p.code.length - 1; n > 0; n -= 1) {
      const up = S.places.get(code.slice(0, n));
      if (up && (up.level === 'community' || up.level === 'grid')) return `${up.name.replace(/第\d+网格$/, '')}${p.name}`;
    }
  }
  return p.name;
}

function feedRow(e) {
  const sev = e.severity || 'minor';
  return `<li class="feed-item sev-row-${esc(sev)}${e.fresh ? ' fresh' : ''}" data-event-id="${e.id}">`
    + `<span class="time">${esc(timeOf(e.occurred_at))}</span><span class="sev sev-${esc(sev)}">${esc(label('severity', sev))}</span>`
    + `<span class="title" title="${esc(e.title)}">${esc(e.title || categoryName(e.category, S.taxonomy))}</span>`
    + `<span class="place">${esc(placeName(e.region_code) || label('source', e.source))}</span></li>`;
}

function renderFeed() {
  const list = $('feed');
  $('feed-note').textContent = t('feed.note', { n: FEED_CAP });
  if (!S.feed.length) { list.innerHTML = `<li class="feed-empty">${esc(t('feed.empty'))}</li>`; S.feedReset = false; return; }
  if (S.feedReset || !list.querySelector('.feed-item')) {
    list.innerHTML = S.feed.map(feedRow).join('');
    S.feedReset = false;
  } else {
    const top = Number(list.firstElementChild.dataset.eventId);
    const index = S.feed.findIndex((e) => e.id === top);
    const fresh = index < 0 ? S.feed : S.feed.slice(0, index);
    if (fresh.length) list.insertAdjacentHTML('afterbegin', fresh.map(feedRow).join(''));
    while (list.children.length > FEED_CAP) list.lastElementChild.remove();
  }
  S.feed.forEach((e) => { e.fresh = false; });
}

// Charts redraw only when their figures changed; a forced draw (a new place, a language) starts
// afresh, an update merges so bars and lines move instead of being rebuilt.
const drawnKeys = new Map();
function draw(name, instance, data, build, force) {
  const key = JSON.stringify(data);
  if (!force && drawnKeys.get(name) === key) return false;
  drawnKeys.set(name, key);
  const option = build();
  if (force) instance.setOption(option, true);
  else instance.setOption(option, { replaceMerge: ['series'] });
  return true;
}

function renderCategories(force) {
  const rows = (S.data.events_by_category || []).map((r) => ({ name: categoryName(r.category, S.taxonomy), count: r.count }));
  draw('categories', charts.categories, rows, () => C.categoriesOption(rows), force);
}

function renderDevices(force) {
  const counts = S.data.devices || [];
  let summary = null;
  draw('devices', charts.devices, counts, () => { summary = C.devicesOption(counts); return summary.option; }, force);
  if (summary) $('device-total').textContent = t('devices.total', { n: num(summary.total), rate: summary.rate });
}

function renderTrend(force) {
  const at = new Date(S.data.at).getTime();
  const days = Array.from({ length: 14 }, (_, i) => beijingDay(at - (13 - i) * 86400000));
  const trend = S.data.trend || [];
  draw('trend', charts.trend, [days, trend], () => C.trendOption(days, trend, (c) => categoryName(c, S.taxonomy)), force);
}

function renderAreas(force) {
  const counts = S.areas.map((a) => [a.code, a.events_today, a.orders_open, a.orders_overdue]);
  draw('areas', charts.areas, counts, () => { const { option, codes } = C.areasOption(S.areas, shortName); areaCodes = codes; return option; }, force);
}

function renderAreaColours() {
  const counts = S.areas.map((a) => [a.code, a.events_today, a.orders_open, a.orders_overdue]);
  const key = JSON.stringify(counts);
  if (drawnKeys.get('areaColours') === key) return;
  drawnKeys.set('areaColours', key);
  charts.map.setOption({ series: [{ id: 'areas', data: C.areaData(S.areas) }, ...C.areaLabels(S.areas, shortName)], visualMap: { max: Math.max(1, ...S.areas.map((a) => a.events_today)) * 1.2 } });
}

function eventPoints() {
  const jitter = (S.map?.extent || 0.05) * 0.018;
  const points = [];
  for (const e of S.markers) {
    let value = e.position ? [e.position.lon, e.position.lat] : null;
    if (!value) {
      const p = placeOf(e.region_code);
      if (!p) continue;
      // Events placed by their region only: spread them a little around its centre, steadily.
      const h = Math.imul(e.id ^ 0x9e3779b9, 2654435761) >>> 0;
      value = [p.pos[0] + (((h & 0xffff) / 0xffff) - 0.5) * 2 * jitter, p.pos[1] + ((((h >>> 16) & 0xffff) / 0xffff) - 0.5) * jitter];
    }
    points.push({ value, id: e.id, title: e.title, severity: e.severity });
  }
  return points;
}

function layers() {
  const level = S.region?.level;
  const showBuildings = level === 'community' || level === 'grid';
  return [
    C.deviceLayer(S.devices, level === 'district' || !level ? 4 : 6),
    C.buildingLayer(showBuildings ? S.buildings : [], level === 'grid'),
    ...C.eventLayers(eventPoints()),
  ];
}

function renderMap() {
  if (!S.map) return;
  drawnKeys.set('areaColours', JSON.stringify(S.areas.map((a) => [a.code, a.events_today, a.orders_open, a.orders_overdue])));
  charts.map.setOption(C.mapOption({ mapName: S.map.name, areas: S.areas, shortName, layers: layers() }), true);
  window.__cockpit.markersDrawn = S.markers.length;
}

function renderMarkers() {
  if (!S.map) return;
  charts.map.setOption({ series: C.eventLayers(eventPoints()) });
  window.__cockpit.markersDrawn = S.markers.length;
}

function renderLegend() {
  const dot = (color, text, square) => `<span><i class="${square ? 'square' : ''}" style="background:${color}"></i>${esc(text)}</span>`;
  $('map-legend').innerHTML = [
    ...['online', 'offline', 'fault', 'maintenance'].map((s) => dot(C.COLORS.status[s], label('device_status', s))),
    ...['minor', 'major', 'critical'].map((s) => dot(C.COLORS.severity[s], `${t('map.events')} · ${label('severity', s)}`)),
    ['community', 'grid'].includes(S.region?.level) ? dot(C.COLORS.gold, t('map.buildings'), true) : '',
  ].join('');
}

// --- Errors, the clock ------------------------------------------------------------------------

function showError(error) {
  const el = $('error');
  el.textContent = errorText(error);
  el.hidden = false;
  toast(errorText(error), 'error');
}
function hideError() { $('error').hidden = true; }

let shownDay = beijingDay(Date.now());
function clock() {
  const now = new Date();
  const parts = Object.fromEntries(new Intl.DateTimeFormat(lang() === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', weekday: lang() === 'en' ? 'short' : 'long' })
    .formatToParts(now).map((p) => [p.type, p.value]));
  const date = lang() === 'en' ? `${parts.weekday} ${parts.day} ${new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', month: 'short' }).format(now)} ${parts.year}` : `${parts.year}年${parts.month}月${parts.day}日 ${parts.weekday}`;
  $('clock').textContent = `${date} ${timeOf(now)}`;
  const day = beijingDay(now.getTime());
  if (day !== shownDay) { shownDay = day; if (S.loaded) refetchSoon(); } // today's counters start again at midnight
}
setInterval(clock, 1000);

// --- For tests and the curious -------------------------------------------------------------------

window.__cockpit = {
  loadedAt: null,
  loads: 0,
  stats,
  settled: false,
  markersDrawn: 0,
  get feed() { return $('feed').querySelectorAll('.feed-item').length; },
  get markers() { return S.markers.length; },
  get lastMessageId() { return S.lastMessageId; },
  get region() { return S.region?.code ?? null; },
  get level() { return S.region?.level ?? null; },
  get ready() { return S.loaded; },
  get building() { return buildingOpen(); },
  /** Drops the WebSocket as a network cut would: it reconnects and catches up by itself. */
  dropLive: () => live.drop(),
  areas: () => S.areas.map((a) => ({ code: a.code, name: a.name, level: a.level })),
  buildings: () => S.buildings.map((b) => ({ code: b.code, name: b.name, parent: b.parent_code })),
  /** Where on the page the area or building `code` is drawn (client pixels), or null. */
  pixelOf(code) {
    const thing = S.areas.find((a) => a.code === code) || S.buildings.find((b) => b.code === code);
    if (!thing?.position) return null;
    const [x, y] = charts.map.convertToPixel({ geoIndex: 1 }, [thing.position.lon, thing.position.lat]);
    const rect = $('map').getBoundingClientRect();
    const k = rect.width / $('map').offsetWidth;
    return { x: rect.left + x * k, y: rect.top + y * k };
  },
};

clock();
// Follow first, load second (once the socket is up, or after a second without it), so nothing
// committed in between is missed; a change seen twice counts once.
Promise.race([liveReady, new Promise((resolve) => setTimeout(resolve, 1000))]).then(() => load(S.code));
