// The review card: keys and clicks are handled here, in the browser, so the next example (or a
// relabel/flag on this one) shows at once; the actions go to the server in the background, in order,
// numbered per client (see app/review_card.py). Data text is only ever set as textContent.
//
// Streamlit calls this function again on every run of the fragment with new `data`; the card, its
// key handler and its outbox live on across calls (one state per parentElement).

const STATES = new WeakMap();
const RESEND_MS = 4000; // a sync nobody answered (a lost rerun) is sent again
// Actions not yet acknowledged survive a reload of the tab: the next card sends them again under their
// old client id and numbers, and the server skips those it had already written (batch ids).
const STORE = "japagen.review.outbox";

function restore() {
  try {
    const saved = JSON.parse(window.sessionStorage.getItem(STORE) || "null");
    if (saved && typeof saved.client === "string" && Array.isArray(saved.outbox) && saved.outbox.length) return saved;
  } catch (e) {
    // no storage (private mode) or a broken entry: start afresh
  }
  return null;
}

function persist(s) {
  try {
    window.sessionStorage.setItem(STORE, JSON.stringify({ client: s.client, seq: s.seq, outbox: s.outbox }));
  } catch (e) {
    // storage full or refused: the actions are still sent, only a reload before the reply could lose them
  }
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function fmt(template, values) {
  return template.replace(/\{(\w+)(?::[^}]*)?\}/g, (m, name) =>
    name in values ? (typeof values[name] === "number" ? values[name].toLocaleString("en-US") : values[name]) : m
  );
}

// The text with each case-insensitive occurrence of `term` in a <mark>: text nodes only.
function highlighted(text, term) {
  const box = el("div", "text");
  const value = text == null ? "" : String(text);
  if (!term) {
    box.textContent = value;
    return box;
  }
  const low = value.toLowerCase();
  const needle = term.toLowerCase();
  let at = 0;
  for (;;) {
    const hit = low.indexOf(needle, at);
    if (hit < 0 || !needle) break;
    if (hit > at) box.appendChild(document.createTextNode(value.slice(at, hit)));
    box.appendChild(el("mark", null, value.slice(hit, hit + needle.length)));
    at = hit + needle.length;
  }
  if (at < value.length) box.appendChild(document.createTextNode(value.slice(at)));
  return box;
}

function newState(parentElement) {
  const root = el("div", "card");
  root.setAttribute("data-testid", "rv-card");
  root.tabIndex = -1;
  parentElement.appendChild(root);
  const saved = restore();
  return {
    root,
    client: saved ? saved.client : Math.random().toString(36).slice(2, 10) + Date.now().toString(36),
    seq: saved ? saved.seq : 0,
    sent: 0, // sync messages sent
    answered: 0, // the newest sync the server has run
    outbox: saved ? saved.outbox : [], // events not yet acknowledged, in order
    overlay: new Map(), // key -> {now, flag, reviewed, seq}: what this client did, until the server has it
    history: [], // actions of this session, for undo: {seq, key, index, before, after, what}
    epoch: null,
    pos: 0,
    data: null,
    message: "",
    timer: null,
    listener: null,
    setStateValue: null,
  };
}

function itemAt(s, index) {
  const d = s.data;
  const i = index - d.start;
  return i >= 0 && i < d.items.length ? d.items[i] : null;
}

function shown(s, item) {
  const local = s.overlay.get(item.key);
  if (!local) return item;
  const out = { ...item, now: local.now, flag: local.flag, reviewed: local.reviewed };
  if (local.now_title !== undefined) out.now_title = local.now_title;
  return out;
}

function labelTitle(s, name) {
  const found = s.data.labels.find((l) => l.name === name);
  return found ? found.title : name;
}

function flagTitle(s, name) {
  const found = s.data.flags.find((f) => f.name === name);
  return found ? found.title : name;
}

function reviewedCount(s) {
  let extra = 0;
  for (const [key, local] of s.overlay) {
    const base = s.data.items.find((it) => it.key === key);
    if (local.reviewed && base && !base.reviewed) extra += 1;
  }
  return Math.min(s.data.total, s.data.reviewed + extra);
}

function send(s) {
  if (!s.setStateValue) return;
  s.sent += 1;
  const item = itemAt(s, s.pos);
  s.setStateValue("sync", {
    client: s.client,
    n: s.sent,
    pos: s.pos,
    key: item ? [item.ds, item.row] : null,
    events: s.outbox.slice(),
  });
  clearTimeout(s.timer);
  s.timer = setTimeout(() => flush(s, true), RESEND_MS);
}

// Send what is pending unless a sync is on its way (then its answer sends the rest: one batch).
function flush(s, force) {
  persist(s);
  if (force || s.answered >= s.sent) send(s);
}

function act(s, action, value) {
  const d = s.data;
  const item = itemAt(s, s.pos);
  if (!item || !d.can_act) return;
  const before = shown(s, item);
  const after = { now: before.now, now_title: before.now_title, flag: before.flag, reviewed: true };
  let what;
  if (action === "score") {
    after.now = String(Math.round(value)); // the score's grade, as the queue shows it
    after.now_title = value.toFixed(2);
    what = fmt(d.strings.did_score, { score: value.toFixed(2) });
  } else if (action === "relabel") {
    after.now = value;
    what = fmt(d.strings.did_relabel, { label: labelTitle(s, value) });
  } else if (action === "flag") {
    after.flag = value;
    what = fmt(d.strings.did_flag, { flag: flagTitle(s, value) });
  } else {
    after.flag = null;
    what = d.strings.did_unflag;
  }
  s.seq += 1;
  s.outbox.push({ seq: s.seq, action, value, ds: item.ds, row: item.row });
  s.overlay.set(item.key, { ...after, seq: s.seq });
  s.history.push({
    seq: s.seq,
    key: item.key,
    index: s.pos,
    before: { now: before.now, now_title: before.now_title, flag: before.flag, reviewed: before.reviewed },
    what,
  });
  s.message = fmt(d.strings.done_on, { what, number: s.pos + 1 });
  if (s.pos < d.total - 1) s.pos += 1;
  render(s);
  flush(s);
}

function undo(s) {
  const d = s.data;
  const last = s.history.pop();
  if (!last) {
    s.message = d.strings.nothing_to_undo;
    render(s);
    return;
  }
  s.seq += 1;
  s.outbox.push({ seq: s.seq, action: "undo", target: last.seq });
  s.overlay.set(last.key, { ...last.before, seq: s.seq });
  s.pos = last.index; // back to the example it undid
  s.message = fmt(d.strings.undid_on, { what: last.what, number: last.index + 1 });
  render(s);
  flush(s);
}

function move(s, step) {
  const next = Math.max(0, Math.min(s.data.total - 1, s.pos + step));
  if (next === s.pos) return;
  s.pos = next;
  s.message = "";
  render(s);
  flush(s);
}

function onKey(s, event) {
  if (!s.data || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  const target = event.composedPath ? event.composedPath()[0] : event.target;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName || ""))) return;
  // A focused widget that reads keys itself (a slider, a list, a grid) keeps them.
  if (target && target.closest && target.closest('[role="slider"],[role="combobox"],[role="listbox"],[role="grid"]'))
    return;
  if (!s.root.isConnected) return;
  const key = event.key.length === 1 ? event.key.toUpperCase() : event.key;
  const d = s.data;
  let handled = true;
  if (key === "J" || key === "ArrowRight") move(s, 1);
  else if (key === "K" || key === "ArrowLeft") move(s, -1);
  else if (event.repeat) handled = false;
  else if (key === "Z" && d.can_act) undo(s);
  else if (key === d.unflag_key && d.can_act) act(s, "unflag", null);
  else {
    const label = d.labels.find((l) => l.key === key);
    const grade = (d.grades || []).find((g) => g.key === key);
    const flag = d.flags.find((f) => f.key === key);
    if (label && d.can_act && d.target === "class") act(s, "relabel", label.name);
    else if (grade && d.can_act && d.target === "score") act(s, "score", grade.value);
    else if (flag && d.can_act) act(s, "flag", flag.name);
    else handled = false;
  }
  if (handled) event.preventDefault();
}

function button(text, hint, onClick, extraClass) {
  const b = el("button", "btn" + (extraClass ? " " + extraClass : ""));
  if (hint) b.appendChild(el("kbd", null, hint));
  b.appendChild(el("span", "name", text));
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

function metric(name, value, extra) {
  const box = el("div", "metric");
  box.appendChild(el("div", "metric-name", name));
  const v = el("div", "metric-value", value);
  box.appendChild(v);
  if (extra) box.appendChild(el("div", "metric-extra", extra));
  return box;
}

function render(s) {
  const d = s.data;
  const S = d.strings;
  const root = s.root;
  root.replaceChildren();
  root.setAttribute("data-position", String(s.pos));
  const item = itemAt(s, s.pos);

  const top = el("div", "top");
  const where = el("div", "where");
  where.setAttribute("data-testid", "rv-where");
  where.textContent = fmt(S.example_of, { number: s.pos + 1, total: d.total });
  top.appendChild(where);
  const done = reviewedCount(s);
  const progress = el("div", "progress");
  progress.setAttribute("data-testid", "rv-progress");
  progress.appendChild(el("span", null, fmt(S.reviewed_of, { done, total: d.total })));
  const bar = el("div", "bar");
  const fill = el("div", "fill");
  fill.style.width = (d.total ? (100 * done) / d.total : 0).toFixed(1) + "%";
  bar.appendChild(fill);
  progress.appendChild(bar);
  top.appendChild(progress);
  const pending = el("div", "pending");
  pending.setAttribute("data-testid", "rv-pending");
  pending.textContent = s.outbox.length ? fmt(S.saving, { count: s.outbox.length }) : S.saved;
  top.appendChild(pending);
  root.appendChild(top);

  if (!item) {
    root.appendChild(el("div", "loading", S.loading));
    return;
  }
  const it = shown(s, item);
  root.setAttribute("data-key", it.key);
  root.appendChild(el("div", "source", `${it.ds} #${it.row}`));

  const texts = el("div", "texts" + (d.is_pair ? " pair" : ""));
  d.text_names.forEach((name, i) => {
    const col = el("div", "text-col");
    col.appendChild(el("div", "caption", name));
    const body = highlighted(i === 0 ? it.text : it.text_b, d.search);
    body.setAttribute("data-testid", "rv-text");
    col.appendChild(body);
    texts.appendChild(col);
  });
  root.appendChild(texts);

  const metrics = el("div", "metrics");
  metrics.appendChild(metric(S.assigned, it.assigned_title || "–"));
  const relabeled = it.now !== it.assigned;
  const nowTitle = d.target === "class" ? labelTitle(s, it.now) : it.now_title;
  metrics.appendChild(metric(S.now, nowTitle || "–", relabeled ? S.relabeled : null));
  metrics.appendChild(metric(S.suggests, it.suggested_title || S.no_analysis));
  metrics.appendChild(metric(S.suspicion, it.suspicion == null ? "–" : it.suspicion.toFixed(2)));
  metrics.appendChild(metric(S.flag, it.flag ? flagTitle(s, it.flag) : S.none));
  metrics.querySelectorAll(".metric-value").forEach((v) => v.setAttribute("data-testid", "rv-value"));
  root.appendChild(metrics);

  const details = [];
  if (it.confidence != null) details.push(fmt(S.confidence, { value: it.confidence.toFixed(2) }));
  if (it.issue) details.push(S.issue);
  if (it.kadg) details.push(fmt(S.kadg, { word: it.kadg }));
  if (it.setting) details.push(fmt(S.setting, { setting: it.setting }));
  if (details.length) root.appendChild(el("div", "details", details.join(" · ")));
  if (it.note) {
    root.appendChild(el("div", "caption", S.note));
    root.appendChild(el("div", "text", it.note));
  }

  const message = el("div", "message", s.message || d.message || "");
  message.setAttribute("data-testid", "rv-message");
  message.setAttribute("aria-live", "polite");
  root.appendChild(message);

  const nav = el("div", "row");
  nav.appendChild(button(S.previous, "K", () => move(s, -1)));
  nav.appendChild(button(S.next, "J", () => move(s, 1)));
  if (d.can_act) nav.appendChild(button(S.undo, "Z", () => undo(s)));
  root.appendChild(nav);
  if (!d.can_act) return;
  if (d.target === "class") {
    const labels = el("div", "row labels");
    for (const l of d.labels) {
      const b = button(l.title, l.key, () => act(s, "relabel", l.name), it.now === l.name ? "current" : "");
      b.setAttribute("data-testid", "rv-label");
      labels.appendChild(b);
    }
    root.appendChild(labels);
  } else if ((d.grades || []).length) {
    const scores = el("div", "row labels");
    for (const g of d.grades) {
      const b = button(g.value.toFixed(0), g.key, () => act(s, "score", g.value), it.now_title === g.value.toFixed(2) ? "current" : "");
      b.setAttribute("data-testid", "rv-score");
      scores.appendChild(b);
    }
    root.appendChild(scores);
  }
  const flags = el("div", "row");
  for (const f of d.flags) {
    flags.appendChild(button(f.title, f.key, () => act(s, "flag", f.name), it.flag === f.name ? "current" : ""));
  }
  flags.appendChild(button(S.unflag, d.unflag_key, () => act(s, "unflag", null)));
  root.appendChild(flags);
  root.appendChild(el("div", "legend", S.legend));
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let s = STATES.get(parentElement);
  if (!s) {
    s = newState(parentElement);
    STATES.set(parentElement, s);
  }
  s.setStateValue = setStateValue;
  if (!s.listener) {
    s.listener = (event) => onKey(s, event);
    document.addEventListener("keydown", s.listener);
  }
  if (!data) return undefined;
  const answered = data.client === s.client ? data.answered : 0;
  if (data.client === s.client) {
    s.outbox = s.outbox.filter((e) => e.seq > data.acked);
    persist(s);
    for (const [key, local] of s.overlay) if (local.seq <= data.acked) s.overlay.delete(key); // the data has it
  }
  if (data.epoch !== s.epoch) {
    // A new queue, or the server moved or changed it (a filter, a drill-down, an action made elsewhere).
    s.epoch = data.epoch;
    s.pos = data.pos;
    if (data.client !== s.client) s.overlay.clear();
    s.history = data.client === s.client ? s.history : [];
    s.message = "";
  }
  s.data = data;
  s.answered = Math.max(s.answered, answered);
  render(s);
  const item = itemAt(s, s.pos);
  if (s.outbox.length || !item || (data.client === s.client && data.pos !== s.pos) || data.client !== s.client) {
    if (s.answered >= s.sent) flush(s);
  } else if (s.answered >= s.sent) clearTimeout(s.timer);
  return () => {
    clearTimeout(s.timer);
    document.removeEventListener("keydown", s.listener);
    s.listener = null;
    STATES.delete(parentElement);
  };
}
