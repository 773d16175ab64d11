// The screens' one way to the API: the session, requests with readable (Chinese by default)
// errors, typed-data drafts that survive a re-login, and which screen each role lands on.
import { t, label } from './i18n.js';

const SESSION_KEY = 'linli.session';
const DRAFT_PREFIX = 'linli.draft.';

/** Which screen each role lands on after login. */
export const HOME = {
  leader: '/cockpit/', street_leader: '/cockpit/',
  street_dispatcher: '/console/', district_dispatcher: '/console/', community_secretary: '/console/', community_worker: '/console/',
  department_handler: '/console/', data_steward: '/console/', admin: '/console/', integrator: '/console/',
  grid_worker: '/mobile/', resident: '/mobile/',
};

export function homeOf(role) {
  return HOME[role] || '/console/';
}

/** The stored session `{token, expires_at, user}`, or null when absent or expired. */
export function session() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY));
    if (s && s.token && new Date(s.expires_at).getTime() > Date.now()) return s;
  } catch (_) { /* a damaged entry is no session */ }
  return null;
}

export function saveSession(login) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({ token: login.token, expires_at: login.expires_at, user: login.user }));
}

/** Sends the browser to login, remembering where it was; drafts stay in storage. */
export function toLogin(expired = false) {
  saveDrafts();
  localStorage.removeItem(SESSION_KEY);
  const next = encodeURIComponent(location.pathname + location.search + location.hash);
  location.replace(`/?next=${next}${expired ? '&expired=1' : ''}`);
}

/** The session, or off to login. `roles`, when given, are the roles this screen is for. */
export function requireSession(roles) {
  const s = session();
  if (!s) {
    toLogin(!!localStorage.getItem(SESSION_KEY));
    throw new Error('no session');
  }
  if (roles && !roles.includes(s.user.role)) {
    location.replace(homeOf(s.user.role));
    throw new Error('wrong screen');
  }
  return s;
}

export async function logout() {
  const s = session();
  if (s) await fetch('/api/v1/auth/logout', { method: 'POST', headers: { Authorization: `Bearer ${s.token}` } }).catch(() => {});
  localStorage.removeItem(SESSION_KEY);
  location.replace('/');
}

/** A failed request: `status`, the API's `code`, `message`, `errors` and `allowed`. */
export class ApiFailure extends Error {
  constructor(status, body) {
    super(body?.message || `http ${status}`);
    this.status = status;
    this.code = body?.code || (status === 0 ? 'network' : 'unknown');
    this.errors = body?.errors || [];
    this.allowed = body?.allowed || null;
  }
}

/** A readable sentence for an error, in the current language, naming the field and what is allowed. */
export function errorText(error) {
  if (!(error instanceof ApiFailure)) return `${t('error.unknown')}：${error?.message || error}`;
  const head = t(`error.${error.code}`) === `error.${error.code}` ? t('error.unknown') : t(`error.${error.code}`);
  const details = error.errors.length
    ? error.errors.map((e) => `${e.row != null ? `#${e.row} ` : ''}${e.field}: ${e.message}`).join('；')
    : error.message;
  const allowed = error.allowed ? `（${t('error.allowed')}：${error.allowed.map((a) => label('action', a)).join('、') || '—'}）` : '';
  return error.code === 'network' ? head : `${head}：${details}${allowed}`;
}

/**
 * Calls `/api/v1{path}`. `body` is sent as JSON, or as-is when FormData/Blob. A 401 sends the
 * user to login (drafts kept); other failures throw an ApiFailure.
 */
export async function api(method, path, body, { idempotencyKey, headers = {} } = {}) {
  const s = session();
  const init = { method, headers: { ...headers } };
  if (s) init.headers.Authorization = `Bearer ${s.token}`;
  if (idempotencyKey) init.headers['Idempotency-Key'] = idempotencyKey;
  if (body instanceof FormData || body instanceof Blob) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch (_) {
    throw new ApiFailure(0, null);
  }
  if (response.status === 401 && s) {
    toLogin(true);
    throw new ApiFailure(401, { code: 'unauthorized' });
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!response.ok) throw new ApiFailure(response.status, data);
  return data;
}

export const get = (path) => api('GET', path);

/** Uploads a file (photo, snapshot; a File or Blob) as the raw body and returns its media id. */
export async function upload(file) {
  const media = await api('POST', '/media', file, { headers: { 'Content-Type': file.type || 'image/jpeg' } });
  return media.id;
}

/** Every item of a paged list (`next_cursor` pages of 1,000), up to `pages` pages. */
export async function getAll(path, params, pages = 5) {
  const items = [];
  let cursor;
  for (let i = 0; i < pages; i += 1) {
    const page = await get(`${path}${query({ ...params, limit: 1000, cursor })}`);
    items.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

// --- Drafts: typed data kept across a forced re-login -----------------------------------------

const draftKey = () => DRAFT_PREFIX + location.pathname;

/** Saves every `[data-draft]` field's value under this page. */
export function saveDrafts() {
  const fields = {};
  document.querySelectorAll('[data-draft]').forEach((el) => {
    if (el.type !== 'file' && el.value) fields[el.dataset.draft] = el.value;
  });
  if (Object.keys(fields).length) localStorage.setItem(draftKey(), JSON.stringify(fields));
}

/** Puts saved drafts back into `[data-draft]` fields under `root`, and keeps saving as the user types. */
export function keepDrafts(root = document) {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(draftKey())) || {}; } catch (_) { saved = {}; }
  root.querySelectorAll('[data-draft]').forEach((el) => {
    if (saved[el.dataset.draft] && !el.value) el.value = saved[el.dataset.draft];
    if (!el.dataset.draftBound) {
      el.dataset.draftBound = '1';
      el.addEventListener('input', saveDrafts);
    }
  });
}

/** Forgets this page's drafts named `names` (all when absent), after a successful submit. */
export function clearDrafts(names) {
  if (!names) { localStorage.removeItem(draftKey()); return; }
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(draftKey())) || {}; } catch (_) { saved = {}; }
  names.forEach((n) => delete saved[n]);
  localStorage.setItem(draftKey(), JSON.stringify(saved));
}

/** Escapes text for HTML templates. */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

/** Shows a transient message (`kind`: info or error) at the top of the page. */
export function toast(message, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = document.createElement('div');
    box.id = 'toasts';
    box.setAttribute('role', 'status');
    document.body.appendChild(box);
  }
  const item = document.createElement('div');
  item.className = `toast toast-${kind}`;
  item.textContent = message;
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

const mediaUrls = new Map();

/** An object URL for a media id (fetched with the session, as <img> cannot send it), cached. */
export async function mediaUrl(id) {
  if (mediaUrls.has(id)) return mediaUrls.get(id);
  const s = session();
  const response = await fetch(`/api/v1/media/${encodeURIComponent(id)}`, { headers: s ? { Authorization: `Bearer ${s.token}` } : {} });
  if (!response.ok) throw new ApiFailure(response.status, null);
  const url = URL.createObjectURL(await response.blob());
  if (mediaUrls.size > 200) {
    const [oldest, oldUrl] = mediaUrls.entries().next().value;
    URL.revokeObjectURL(oldUrl);
    mediaUrls.delete(oldest);
  }
  mediaUrls.set(id, url);
  return url;
}
