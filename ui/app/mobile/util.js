// The mobile screens' words and small helpers: position, distance, photos, local storage.
import { extend, lang } from '/shared/i18n.js';

extend({
  zh: {
    'm.title.grid': '网格工作台', 'm.title.resident': '居民随手报',
    'm.tab.tasks': '任务', 'm.tab.report': '上报', 'm.tab.me': '我的', 'm.tab.mine': '我的反映',
    'm.tasks.open': '待办', 'm.tasks.done': '已办', 'm.tasks.empty': '暂无待办任务，辛苦了', 'm.tasks.done_empty': '暂无已办任务',
    'm.tasks.summary': '共 {n} 件 · 超期 {overdue} 件',
    'm.pending': '待同步', 'm.pending.title': '待同步操作', 'm.pending.none': '所有操作均已同步',
    'm.pending.sync': '立即同步', 'm.failed': '同步失败', 'm.retry': '重试', 'm.discard': '放弃',
    'm.offline': '当前离线：操作已保存在本机，联网后自动同步', 'm.queued': '已离线保存，联网后自动同步',
    'm.synced': '离线操作已同步：{what}',
    'm.resolve_due': '办结时限', 'm.response_due': '响应时限', 'm.distance': '距您 {d}', 'm.distance.unknown': '距离未知',
    'm.navigate': '导航', 'm.detail': '详情', 'm.checkin': '到场打卡', 'm.checkin.done': '已到场打卡，距工单位置 {d}',
    'm.checkin.noloc': '无法获取当前位置，请开启定位后重试', 'm.checkin.at': '到场打卡：距工单位置 {d}', 'm.locating': '正在定位…',
    'm.order': '工单', 'm.order_no': '编号 {id}', 'm.reports_merged': '{n}人反映', 'm.proactive': '未诉先办', 'm.supervised': '督办',
    'm.overdue': '已超期', 'm.description': '问题描述', 'm.place': '位置', 'm.source': '来源', 'm.created': '创建时间',
    'm.navigate.title': '现场导航', 'm.navigate.open': '打开地图导航', 'm.navigate.nopos': '该工单没有坐标',
    'm.evidence': '上报照片', 'm.history': '处理记录', 'm.result': '处置结果', 'm.result.placeholder': '写明处置过程和结果，如：已联系物业清运，现场已恢复整洁',
    'm.photos': '现场照片', 'm.photo.add': '拍照 / 选择照片', 'm.photo.count': '已选 {n} 张',
    'm.resolve': '办结', 'm.resolve.need_result': '请填写处置结果', 'm.resolve.done': '已办结，等待回访',
    'm.comment': '添加备注', 'm.comment.placeholder': '进展、联系情况等', 'm.comment.need': '请填写备注内容',
    'm.accept.done': '已签收', 'm.done': '已提交',
    'm.report.title': '问题上报', 'm.report.patrol': '巡查上报', 'm.report.intro.grid': '巡查发现问题，拍照上报即生成工单（未诉先办）。',
    'm.report.intro.resident': '发现身边的问题？拍照并说明情况，社区和相关部门会尽快处理。',
    'm.category': '问题类型', 'm.category.choose': '请选择问题类型', 'm.subject': '标题', 'm.subject.placeholder': '一句话说明问题，如：3号楼前垃圾堆放',
    'm.details': '详细描述', 'm.details.placeholder': '问题的具体位置、持续时间、影响等',
    'm.severity': '紧急程度', 'm.location': '问题位置', 'm.location.here': '已获取当前位置（精度约{acc}米）',
    'm.location.home': '将按您的登记住址（{name}）所在网格处理', 'm.location.grid': '归属网格：{name}',
    'm.location.none': '未能定位，将按{fallback}上报', 'm.location.retry': '重新定位',
    'm.location.registered': '登记住址', 'm.location.mygrid': '所在网格',
    'm.submit.report': '提交上报', 'm.report.need_category': '请选择问题类型', 'm.report.need_text': '请填写标题或描述',
    'm.report.ok': '上报成功，工单 {id} 已生成', 'm.report.merged': '已并入同类问题工单 {id}（{n}人反映）',
    'm.report.queued': '已离线保存，联网后自动上报',
    'm.mine.empty': '您还没有反映过问题', 'm.mine.title': '我的反映', 'm.mine.pull': '下拉或点击刷新',
    'm.step.submitted': '已提交', 'm.step.accepted': '已受理', 'm.step.handling': '处置中', 'm.step.resolved': '已办结', 'm.step.rated': '已评价',
    'm.rate.title': '请对处理结果进行评价', 'm.rate.solved': '问题已解决', 'm.rate.unsolved': '问题未解决', 'm.rate.note': '补充说明（选填）',
    'm.rate.thanks': '感谢您的评价', 'm.rate.yours': '您的评价：{s}',
    'm.result.show': '处置结果', 'm.updated': '更新于 {t}', 'm.refreshing': '正在刷新…',
    'm.me.grid': '所属网格', 'm.me.dwelling': '登记住址', 'm.me.lang': '语言', 'm.me.patrols': '我的巡查上报', 'm.me.patrols.empty': '暂无巡查上报',
    'm.me.today': '今日办结', 'm.me.open': '待办', 'm.me.overdue': '超期',
    'm.confirm.nocheckin': '无法获取定位，仍要开始处置吗？（不记录到场位置）',
    'm.km': '{n}公里', 'm.m': '{n}米',
  },
  en: {
    'm.title.grid': 'Grid workbench', 'm.title.resident': 'Report a problem',
    'm.tab.tasks': 'Tasks', 'm.tab.report': 'Report', 'm.tab.me': 'Me', 'm.tab.mine': 'My reports',
    'm.tasks.open': 'To do', 'm.tasks.done': 'Done', 'm.tasks.empty': 'Nothing to do right now', 'm.tasks.done_empty': 'Nothing done yet',
    'm.tasks.summary': '{n} tasks · {overdue} overdue',
    'm.pending': 'Queued', 'm.pending.title': 'Waiting to sync', 'm.pending.none': 'Everything is synced',
    'm.pending.sync': 'Sync now', 'm.failed': 'Sync failed', 'm.retry': 'Retry', 'm.discard': 'Discard',
    'm.offline': 'Offline: actions are kept on this phone and sync when the connection returns', 'm.queued': 'Saved offline; it will sync when you are back online',
    'm.synced': 'Offline action synced: {what}',
    'm.resolve_due': 'Resolve:', 'm.response_due': 'Respond:', 'm.distance': '{d} away', 'm.distance.unknown': 'distance unknown',
    'm.navigate': 'Navigate', 'm.detail': 'Details', 'm.checkin': 'Check in', 'm.checkin.done': 'Checked in, {d} from the order’s place',
    'm.checkin.noloc': 'Cannot get your position; turn location on and try again', 'm.checkin.at': 'Checked in {d} from the place', 'm.locating': 'Locating…',
    'm.order': 'Order', 'm.order_no': 'No. {id}', 'm.reports_merged': '{n} reports', 'm.proactive': 'Proactive', 'm.supervised': 'Supervised',
    'm.overdue': 'Overdue', 'm.description': 'Description', 'm.place': 'Place', 'm.source': 'Source', 'm.created': 'Created',
    'm.navigate.title': 'Navigation', 'm.navigate.open': 'Open in maps', 'm.navigate.nopos': 'This order has no coordinates',
    'm.evidence': 'Reported photos', 'm.history': 'History', 'm.result': 'Result', 'm.result.placeholder': 'What was done, e.g. the property company cleared it',
    'm.photos': 'Photos on site', 'm.photo.add': 'Take / choose photos', 'm.photo.count': '{n} selected',
    'm.resolve': 'Resolve', 'm.resolve.need_result': 'Describe the result', 'm.resolve.done': 'Resolved; awaiting callback',
    'm.comment': 'Add note', 'm.comment.placeholder': 'Progress, contacts…', 'm.comment.need': 'Write a note first',
    'm.accept.done': 'Accepted', 'm.done': 'Submitted',
    'm.report.title': 'Report a problem', 'm.report.patrol': 'Patrol report', 'm.report.intro.grid': 'Found a problem on patrol? A report with a photo opens a proactive order.',
    'm.report.intro.resident': 'Seen a problem nearby? Take a photo and describe it; the community will handle it.',
    'm.category': 'Category', 'm.category.choose': 'Choose a category', 'm.subject': 'Title', 'm.subject.placeholder': 'One line, e.g. rubbish piled in front of building 3',
    'm.details': 'Details', 'm.details.placeholder': 'Where exactly, since when, who is affected',
    'm.severity': 'Severity', 'm.location': 'Location', 'm.location.here': 'Current position (±{acc} m)',
    'm.location.home': 'Handled by the grid of your registered home ({name})', 'm.location.grid': 'Grid: {name}',
    'm.location.none': 'No position; reported at {fallback}', 'm.location.retry': 'Locate again',
    'm.location.registered': 'your registered home', 'm.location.mygrid': 'your grid',
    'm.submit.report': 'Submit', 'm.report.need_category': 'Choose a category', 'm.report.need_text': 'Write a title or a description',
    'm.report.ok': 'Reported; order {id} opened', 'm.report.merged': 'Joined order {id} on the same problem ({n} reports)',
    'm.report.queued': 'Saved offline; it will be reported when you are back online',
    'm.mine.empty': 'You have not reported anything yet', 'm.mine.title': 'My reports', 'm.mine.pull': 'Pull down or tap to refresh',
    'm.step.submitted': 'Submitted', 'm.step.accepted': 'Accepted', 'm.step.handling': 'Handling', 'm.step.resolved': 'Resolved', 'm.step.rated': 'Rated',
    'm.rate.title': 'How was it handled?', 'm.rate.solved': 'Solved', 'm.rate.unsolved': 'Not solved', 'm.rate.note': 'Anything to add (optional)',
    'm.rate.thanks': 'Thank you for your rating', 'm.rate.yours': 'Your rating: {s}',
    'm.result.show': 'Result', 'm.updated': 'Updated {t}', 'm.refreshing': 'Refreshing…',
    'm.me.grid': 'Grid', 'm.me.dwelling': 'Home', 'm.me.lang': 'Language', 'm.me.patrols': 'My patrol reports', 'm.me.patrols.empty': 'No patrol reports yet',
    'm.me.today': 'Resolved today', 'm.me.open': 'Open', 'm.me.overdue': 'Overdue',
    'm.confirm.nocheckin': 'No position available. Start anyway (without recording where you are)?',
    'm.km': '{n} km', 'm.m': '{n} m',
  },
});

// English names of the default taxonomy (it carries Chinese names only).
const CATEGORY_EN = {
  'env.sanitation': 'Sanitation', 'env.garbage_sorting': 'Waste sorting', 'env.noise': 'Noise', 'env.pollution': 'Pollution', 'env.greening': 'Greenery',
  'build.illegal_construction': 'Illegal construction', 'build.group_rental': 'Group rental', 'prop.service': 'Property service', 'prop.elevator': 'Elevator',
  'util.heating': 'Heating', 'util.water': 'Water & drains', 'util.power': 'Power', 'util.gas': 'Gas', 'traffic.parking': 'Parking',
  'traffic.signal': 'Traffic lights & congestion', 'traffic.bike': 'Shared bikes', 'traffic.road': 'Roads & street furniture', 'safety.throwing': 'Thrown from height',
  'safety.fire': 'Fire safety', 'safety.public_order': 'Public order', 'health.epidemic': 'Public health', animal: 'Animals', other: 'Other',
};

export function categoryName(taxonomy, code) {
  if (lang() === 'en' && CATEGORY_EN[code]) return CATEGORY_EN[code];
  return taxonomy.find((c) => c.code === code)?.name_zh || CATEGORY_EN[code] || code;
}

/** JSON kept in localStorage (for opening offline); `fallback` when absent or damaged. */
export function stored(key, fallback = null) {
  try { const v = JSON.parse(localStorage.getItem(key)); return v ?? fallback; } catch (_) { return fallback; }
}
export function store(key, value) {
  try { localStorage.setItem(key, JSON.stringify(value)); } catch (_) { /* full: only a cache */ }
}

/** The current position `{lon, lat, accuracy}`, or null when unavailable or refused. */
export function locate(timeout = 10000) {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout, maximumAge: 30000 },
    );
  });
}

/** Metres between two `{lon, lat}` (haversine). */
export function distance(a, b) {
  if (!a || !b) return null;
  const r = 6371008.8, rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(h));
}

export function metres(m, t) {
  if (m == null) return '';
  return m >= 1000 ? t('m.km', { n: (m / 1000).toFixed(m >= 10000 ? 0 : 1) }) : t('m.m', { n: Math.round(m) });
}

/** A `geo:` link (opens the phone's map app) to a position, labelled. */
export function geoUri(position, name = '') {
  const { lat, lon } = position;
  const q = `${lat.toFixed(6)},${lon.toFixed(6)}`;
  return `geo:${q}?q=${q}${name ? `(${encodeURIComponent(name)})` : ''}`;
}

/** A photo made small enough to send over a field connection (JPEG, longest side 1600 px). */
export async function shrink(file) {
  if (!file || file.size < 400 * 1024 || !file.type.startsWith('image/') || typeof createImageBitmap !== 'function') return file;
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.82));
    return blob && blob.size < file.size ? blob : file;
  } catch (_) {
    return file;
  }
}

/** Keeps the photos picked in a file input (several picks add up) and shows them as thumbnails. */
export function photoPicker(input, preview, t) {
  let photos = [];
  let urls = [];
  const render = () => {
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
    preview.innerHTML = '';
    photos.forEach((blob, i) => {
      const cell = document.createElement('div');
      cell.className = 'thumb';
      const img = document.createElement('img');
      img.src = URL.createObjectURL(blob);
      urls.push(img.src);
      img.alt = '';
      const del = document.createElement('button');
      del.type = 'button';
      del.className = 'thumb-del';
      del.textContent = '×';
      del.setAttribute('aria-label', 'remove');
      del.addEventListener('click', () => { photos.splice(i, 1); render(); });
      cell.append(img, del);
      preview.appendChild(cell);
    });
    preview.dataset.count = String(photos.length);
    const counter = input.closest('.photo-field')?.querySelector('.photo-count');
    if (counter) counter.textContent = photos.length ? t('m.photo.count', { n: photos.length }) : '';
  };
  input.addEventListener('change', async () => {
    const picked = await Promise.all([...input.files].map(shrink));
    photos = photos.concat(picked).slice(0, 9);
    input.value = '';
    render();
  });
  return {
    get photos() { return photos.slice(); },
    clear() { photos = []; render(); },
  };
}

/** Debounces `fn` by `ms`. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}
