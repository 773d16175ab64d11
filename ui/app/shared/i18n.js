// Chinese by default, English switchable. Labels of the platform's codes (roles, statuses,
// actions, scenes, …) live here once; screens add their own words with `extend`.
const LANG_KEY = 'linli.lang';

const words = {
  zh: {
    'app.name': '邻里 · 智慧社区治理', 'lang.switch': 'English', 'logout': '退出', 'loading': '加载中…',
    'login.title': '登录', 'login.username': '用户名', 'login.password': '密码', 'login.submit': '登录',
    'login.expired': '登录已过期，请重新登录。已填写的内容会保留。', 'login.hint': '演示账号的用户名即角色名（如 leader、street_dispatcher、grid_worker、resident），密码 linli-demo。',
    'screen.cockpit': '领导驾驶舱', 'screen.console': '调度台', 'screen.mobile': '移动端',
    'live.online': '实时连接', 'live.offline': '连接中断，正在重连…', 'live.catching_up': '正在补齐错过的消息…',
    'error.network': '网络连接失败，请检查网络后重试。', 'error.unknown': '操作失败',
    'error.invalid_field': '输入有误', 'error.invalid_json': '请求格式错误', 'error.forbidden': '无权进行此操作',
    'error.not_found': '未找到', 'error.unauthorized': '登录已过期，请重新登录', 'error.invalid_credentials': '用户名或密码错误',
    'error.illegal_transition': '工单当前状态不允许此操作', 'error.stale_version': '工单已被他人更新，请刷新后重试',
    'error.conflict': '与现有记录冲突', 'error.too_large': '文件过大', 'error.unavailable': '服务暂不可用，请稍后再试',
    'error.allowed': '当前允许的操作', 'error.field': '字段',
    'empty': '暂无数据', 'refresh': '刷新', 'save': '保存', 'cancel': '取消', 'confirm': '确定', 'submit': '提交', 'back': '返回',
  },
  en: {
    'app.name': 'Linli · community governance', 'lang.switch': '中文', 'logout': 'Log out', 'loading': 'Loading…',
    'login.title': 'Log in', 'login.username': 'Username', 'login.password': 'Password', 'login.submit': 'Log in',
    'login.expired': 'Your session expired; please log in again. What you typed is kept.', 'login.hint': 'Demo usernames are role names (leader, street_dispatcher, grid_worker, resident…), password linli-demo.',
    'screen.cockpit': 'Leadership cockpit', 'screen.console': 'Dispatch console', 'screen.mobile': 'Mobile',
    'live.online': 'Live', 'live.offline': 'Connection lost, reconnecting…', 'live.catching_up': 'Catching up on missed messages…',
    'error.network': 'The network failed; check the connection and try again.', 'error.unknown': 'The request failed',
    'error.invalid_field': 'Invalid input', 'error.invalid_json': 'Malformed request', 'error.forbidden': 'You may not do this',
    'error.not_found': 'Not found', 'error.unauthorized': 'Your session expired; please log in again', 'error.invalid_credentials': 'Wrong username or password',
    'error.illegal_transition': 'The order’s state does not allow this action', 'error.stale_version': 'Someone else changed this order; refresh and try again',
    'error.conflict': 'Conflicts with an existing record', 'error.too_large': 'The file is too large', 'error.unavailable': 'The service is unavailable; try again later',
    'error.allowed': 'Allowed now', 'error.field': 'Field',
    'empty': 'Nothing here', 'refresh': 'Refresh', 'save': 'Save', 'cancel': 'Cancel', 'confirm': 'OK', 'submit': 'Submit', 'back': 'Back',
  },
};

// Labels of the API's codes: [zh, en].
const codes = {
  role: {
    resident: ['居民', 'Resident'], grid_worker: ['网格员', 'Grid worker'], community_worker: ['社区工作者', 'Community worker'],
    community_secretary: ['社区书记', 'Community secretary'], street_dispatcher: ['街道调度员', 'Street dispatcher'], street_leader: ['街道领导', 'Street leader'],
    department_handler: ['部门处置人员', 'Department handler'], district_dispatcher: ['区调度员', 'District dispatcher'], leader: ['领导', 'Leader'],
    data_steward: ['数据管理员', 'Data steward'], admin: ['系统管理员', 'Administrator'], integrator: ['集成方', 'Integrator'],
  },
  status: {
    new: ['待派发', 'New'], dispatched: ['已派发', 'Dispatched'], accepted: ['已签收', 'Accepted'], in_progress: ['处置中', 'In progress'],
    suspended: ['已挂起', 'Suspended'], returned: ['已退单', 'Returned'], resolved: ['已办结', 'Resolved'], callback: ['已回访', 'Called back'],
    closed: ['已关闭', 'Closed'], terminated: ['已终止', 'Terminated'],
  },
  action: {
    dispatch: ['派单', 'Dispatch'], transfer: ['转派', 'Transfer'], accept: ['签收', 'Accept'], contact: ['联系诉求人', 'Contact requester'],
    start: ['开始处置', 'Start'], return: ['退单', 'Return'], request_extension: ['申请延期', 'Request extension'], approve_extension: ['批准延期', 'Approve extension'],
    reject_extension: ['驳回延期', 'Reject extension'], suspend: ['挂起', 'Suspend'], resume: ['恢复', 'Resume'], resolve: ['办结', 'Resolve'],
    callback: ['回访', 'Callback'], reopen: ['重办', 'Reopen'], close: ['关闭', 'Close'], terminate: ['终止', 'Terminate'], supervise: ['督办', 'Supervise'],
    comment: ['备注', 'Comment'], created: ['创建', 'Created'], report_merged: ['多人同诉', 'Report merged'], response_overdue: ['响应超时', 'Response overdue'],
    warned: ['临期预警', 'Warned'], overdue: ['超期', 'Overdue'], escalated: ['升级', 'Escalated'], applied: ['申请', 'Applied'], approved: ['批准', 'Approved'],
  },
  scene: {
    throwing: ['高空抛物', 'Thrown from height'], illegal_parking: ['违停', 'Illegal parking'], fire_lane_blocked: ['消防通道占用', 'Fire lane blocked'],
    intrusion: ['周界入侵', 'Intrusion'], crowd: ['人员聚集', 'Crowd gathering'], group_rental: ['群租房', 'Group rental'], bin_overflow: ['垃圾满溢', 'Bin overflow'],
  },
  level: {
    city: ['市', 'City'], district: ['区', 'District'], street: ['街道', 'Street'], town: ['镇', 'Town'], community: ['社区', 'Community'], village: ['村', 'Village'],
    grid: ['网格', 'Grid'], building: ['楼栋', 'Building'], unit: ['单元', 'Unit'], dwelling: ['房屋', 'Dwelling'],
  },
  severity: { info: ['提示', 'Info'], minor: ['一般', 'Minor'], major: ['重要', 'Major'], critical: ['紧急', 'Critical'] },
  source: {
    hotline_12345: ['12345热线', '12345 hotline'], resident_app: ['居民上报', 'Resident app'], open311: ['Open311', 'Open311'], grid_patrol: ['网格巡查', 'Grid patrol'],
    camera_ai: ['视频AI', 'Camera AI'], iot: ['物联感知', 'IoT'], analytics: ['数据分析', 'Analytics'],
  },
  satisfaction: { satisfied: ['满意', 'Satisfied'], basically_satisfied: ['基本满意', 'Basically satisfied'], unsatisfied: ['不满意', 'Unsatisfied'] },
  urgency: { emergency: ['紧急', 'Emergency'], utility: ['民生', 'Utility'], ordinary: ['一般', 'Ordinary'], complex: ['复杂', 'Complex'] },
  device_status: { online: ['在线', 'Online'], offline: ['离线', 'Offline'], fault: ['故障', 'Fault'], maintenance: ['维护', 'Maintenance'], decommissioned: ['停用', 'Decommissioned'] },
  device_kind: {
    camera: ['摄像头', 'Camera'], access_gate: ['门禁', 'Access gate'], smart_meter: ['智能表', 'Smart meter'], smart_bin: ['智能垃圾桶', 'Smart bin'],
    parking_sensor: ['车位传感器', 'Parking sensor'], signal_controller: ['信号机', 'Signal controller'], smoke_sensor: ['烟感', 'Smoke sensor'],
    gas_sensor: ['燃气传感器', 'Gas sensor'], water_leak_sensor: ['水浸传感器', 'Water-leak sensor'], elevator_monitor: ['电梯监测', 'Elevator monitor'], other: ['其他', 'Other'],
  },
  care_tag: {
    elderly_alone: ['独居老人', 'Elderly, alone'], elderly: ['高龄老人', 'Elderly'], disabled: ['残疾人', 'Disabled'], low_income: ['低保', 'Low income'],
    extreme_poverty: ['特困', 'Extreme poverty'], veteran: ['退役军人', 'Veteran'], left_behind_child: ['留守儿童', 'Left-behind child'],
    serious_illness: ['重病', 'Serious illness'], pregnant: ['孕产妇', 'Pregnant'], special_care: ['优抚对象', 'Special care'],
  },
};

export function lang() {
  return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';
}

export function setLang(value) {
  localStorage.setItem(LANG_KEY, value === 'en' ? 'en' : 'zh');
}

/** Adds a screen's own words: `extend({ zh: {...}, en: {...} })`. */
export function extend(more) {
  for (const l of ['zh', 'en']) Object.assign(words[l], more[l] || {});
}

/** The text of `key` in the current language, `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = words[lang()][key] ?? words.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? ''));
}

/** The label of an API code of a kind (`role`, `status`, `action`, `scene`, …), else the code. */
export function label(kind, code) {
  const entry = codes[kind]?.[code];
  return entry ? entry[lang() === 'en' ? 1 : 0] : (code ?? '');
}

/** Fills `data-i18n` (text), `data-i18n-placeholder` and `data-i18n-title` under `root`. */
export function applyI18n(root = document) {
  document.documentElement.lang = lang() === 'en' ? 'en' : 'zh-CN';
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll('[data-i18n-title]').forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}

/** A button that switches language and re-renders through `onSwitch` (default: reload). */
export function langButton(onSwitch = () => location.reload()) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'lang-switch';
  button.textContent = t('lang.switch');
  button.addEventListener('click', () => {
    setLang(lang() === 'en' ? 'zh' : 'en');
    button.textContent = t('lang.switch');
    onSwitch();
  });
  return button;
}

/** A date-time in Beijing time, `MM-DD HH:mm` (or with the year when `full`). */
export function when(value, full = false) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  const parts = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false })
    .formatToParts(d).reduce((acc, p) => ({ ...acc, [p.type]: p.value }), {});
  const time = `${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
  return full ? `${parts.year}-${time}` : time;
}

/** How long until (or since, negative) a deadline, as `2小时15分` / `2h 15m`; `超期` when past. */
export function countdown(deadline, now = Date.now()) {
  const ms = new Date(deadline).getTime() - now;
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
  const en = lang() === 'en';
  const span = d > 0 ? (en ? `${d}d ${h}h` : `${d}天${h}小时`) : h > 0 ? (en ? `${h}h ${m}m` : `${h}小时${m}分`) : (en ? `${m}m` : `${m}分钟`);
  if (ms < 0) return en ? `overdue ${span}` : `超期${span}`;
  return en ? `${span} left` : `剩余${span}`;
}
