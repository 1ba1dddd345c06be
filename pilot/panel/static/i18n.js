// i18n.js — the page's own words in English and Chinese. (What the server says — chat replies,
// readiness messages — already comes in the user's language.)

const STRINGS = {
  en: {
    apiKey: 'API key', save: 'Save', forgetKey: 'Forget key', keyRejected: 'This key was rejected (401).',
    keyHint: 'Printed by `pilot serve` on first start (.pilot/dev-key). Kept in this tab only.',
    prompt: 'Describe a workflow, or how to change it…', send: 'Send', undo: 'Undo',
    readiness: 'Readiness', ready: 'Ready to run.', run: 'Run', runIt: 'Run', outputs: 'Outputs',
    noWorkflow: 'No workflow yet: describe one in the chat.', badJson: '{field}: not valid JSON',
    reconnecting: 'reconnecting…', attempt: 'attempt {n}',
    undone: 'Undid the last change: version {restored} is back (saved as version {version}).',
    'state.idle': '', 'state.queued': 'queued', 'state.running': 'running', 'state.streaming': 'streaming',
    'state.retry': 'retry', 'state.fallback': 'fallback', 'state.waiting': 'waiting', 'state.skipped': 'skipped',
    'state.succeeded': 'succeeded', 'state.failed': 'failed', 'state.notrun': 'not run',
    'run.succeeded': 'Run succeeded', 'run.failed': 'Run failed', 'run.cancelled': 'Run cancelled',
  },
  zh: {
    apiKey: 'API 密钥', save: '保存', forgetKey: '清除密钥', keyRejected: '密钥无效（401）。',
    keyHint: '首次运行 `pilot serve` 时打印（.pilot/dev-key），只保存在当前标签页。',
    prompt: '描述你想要的工作流，或者要怎么修改…', send: '发送', undo: '撤销',
    readiness: '就绪检查', ready: '可以运行。', run: '运行', runIt: '运行', outputs: '输出',
    noWorkflow: '还没有工作流：在对话中描述一个。', badJson: '{field}：不是有效的 JSON',
    reconnecting: '重新连接中…', attempt: '第 {n} 次尝试',
    undone: '已撤销上一次修改：恢复到第 {restored} 版（保存为第 {version} 版）。',
    'state.idle': '', 'state.queued': '排队中', 'state.running': '运行中', 'state.streaming': '输出中',
    'state.retry': '重试', 'state.fallback': '切换模型', 'state.waiting': '等待中', 'state.skipped': '已跳过',
    'state.succeeded': '成功', 'state.failed': '失败', 'state.notrun': '未运行',
    'run.succeeded': '运行成功', 'run.failed': '运行失败', 'run.cancelled': '运行已取消',
  },
};

let current = (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';

/** The current UI language: 'en' or 'zh'. */
export const lang = () => current;

/** The text for `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

/** Switch language and relabel every element marked `data-i18n` / `data-i18n-placeholder`. */
export function setLang(value) {
  current = value === 'zh' ? 'zh' : 'en';
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}
