// The dispatch console (中屏统调度): header, navigation, hash routes, and the live link that
// every view listens to. Routes: #/inbox[/EVENT], #/queue[/ORDER[/ACTION]], #/whistles[/ID|new],
// #/approvals[/ID|new]. The route is remembered so a re-login comes back to the same place.
import './words.js';
import { requireSession, logout, get } from '/shared/api.js';
import { applyI18n, langButton, t, label, when } from '/shared/i18n.js';
import { follow } from '/shared/live.js';
import { state, loadLookups, tickCountdowns, regionName, esc } from './common.js';
import * as inbox from './inbox.js';
import * as queue from './queue.js';
import * as whistles from './whistles.js';
import * as approvals from './approvals.js';

const ROLES = ['street_dispatcher', 'district_dispatcher', 'community_secretary', 'community_worker', 'department_handler',
  'data_steward', 'admin', 'integrator', 'leader', 'street_leader'];
const ROUTE_KEY = 'linli.console.route';
const VIEWS = { inbox, queue, whistles, approvals };

const session = requireSession(ROLES);
state.session = session;
state.user = session.user;
state.unit = session.user.region_code ? { kind: 'region', code: session.user.region_code }
  : session.user.org_code ? { kind: 'organisation', code: session.user.org_code } : null;

applyI18n();
document.title = `${t('app.name')} · ${t('c.title')}`;
document.getElementById('lang').appendChild(langButton());
document.getElementById('logout').addEventListener('click', () => logout());
document.getElementById('user').innerHTML = `<b>${esc(session.user.display_name || session.user.username)}</b><span class="role">${esc(label('role', session.user.role))}</span>`;

// --- Live first, data second ------------------------------------------------------------------
const liveEl = document.getElementById('live-state');
function setLive(s) {
  liveEl.className = `live-state ${s}`;
  liveEl.dataset.state = s;
  liveEl.textContent = t(`live.${s}`);
}
setLive('offline');
liveEl.textContent = t('loading');
const started = new Set();
const live = follow({
  topics: ['order.', 'event.', 'whistle.', 'application.'],
  onState: setLive,
  onLagged: () => { for (const name of started) VIEWS[name].reload(); },
  onMessage: (message) => {
    for (const name of started) {
      try { VIEWS[name].onLive(message); } catch (e) { console.error('live update failed', name, e); }
    }
    badgeOnLive(message);
  },
});
window.addEventListener('beforeunload', () => live.close());

// --- Navigation -----------------------------------------------------------------------------
const badges = { inbox: 0 };
function setBadge(view, n) {
  const el = document.querySelector(`.sidenav a[data-view=${view}] .badge`);
  if (!el) return;
  el.textContent = n > 99 ? '99+' : String(n);
  el.hidden = !n;
}
function badgeOnLive(message) {
  if (message.topic === 'event.created' && current.view !== 'inbox') { badges.inbox += 1; setBadge('inbox', badges.inbox); }
}
approvals.onCount((n) => setBadge('approvals', n));
whistles.onCount((n) => setBadge('whistles', n));

const current = { view: null };
function parseRoute(hash) {
  const parts = (hash || '').replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const view = VIEWS[parts[0]] ? parts[0] : null;
  return { view, params: parts.slice(1) };
}

async function route() {
  let { view, params } = parseRoute(location.hash);
  if (!view) {
    const saved = parseRoute(localStorage.getItem(ROUTE_KEY));
    view = saved.view || defaultView();
    params = saved.view ? saved.params : [];
    history.replaceState(null, '', `#/${[view, ...params].map(encodeURIComponent).join('/')}`);
  }
  localStorage.setItem(ROUTE_KEY, location.hash);
  document.querySelectorAll('.sidenav a').forEach((a) => a.classList.toggle('active', a.dataset.view === view));
  for (const name of Object.keys(VIEWS)) document.getElementById(`view-${name}`).hidden = name !== view;
  if (view === 'inbox') { badges.inbox = 0; setBadge('inbox', 0); }
  current.view = view;
  const module = VIEWS[view];
  if (!started.has(view)) {
    started.add(view);
    module.init(document.getElementById(`view-${view}`));
  }
  await module.show(params);
}

function defaultView() {
  if (['community_secretary', 'community_worker'].includes(state.user.role)) return 'queue';
  if (state.user.role === 'department_handler') return 'queue';
  return 'queue';
}

// --- Start ----------------------------------------------------------------------------------
async function start() {
  try {
    state.me = await get('/auth/me');
  } catch (_) {
    state.me = { user: session.user, jurisdiction: session.user.region_code || null };
  }
  await loadLookups();
  const j = state.me.jurisdiction;
  document.getElementById('jurisdiction').textContent = j ? `${t('c.jurisdiction')}：${regionName(j)}` : t('c.everywhere');
  window.addEventListener('hashchange', route);
  await route();
  approvals.prefetchCount();
  whistles.prefetchCount();
}

const clock = document.getElementById('clock');
function tick() { clock.textContent = when(new Date().toISOString()); }
tick();
setInterval(() => { tick(); tickCountdowns(); }, 30000);

// Clicking a thumbnail shows it large.
const lightbox = document.getElementById('lightbox');
document.addEventListener('click', (e) => {
  const img = e.target.closest('img.evidence');
  if (img) { lightbox.querySelector('img').src = img.src; lightbox.hidden = false; return; }
  if (e.target.closest('#lightbox')) lightbox.hidden = true;
});
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') lightbox.hidden = true; });

start();
