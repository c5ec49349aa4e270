// The demo's chat page: plain JavaScript, no build step. Talks to bot/demo/web.py.
"use strict";

const $ = (sel) => document.querySelector(sel);
const S = {
  state: null,       // /api/state
  lang: "zh_Hans",   // the page follows the viewer's bot language (/lang)
  chat: null,        // chat id on screen
  viewer: null,      // person id whose eyes we use (the speaker in the group)
  speaker: {},       // group chat -> who speaks there
  messages: [],
  commands: [],
  loading: false,
  again: false,
  unread: new Set(),
};

function t(key) {
  const table = (S.state && S.state.strings[S.lang]) || {};
  return table[key] || key;
}

function esc(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

// ---------------------------------------------------------------- formatting (entities)

const WRAP = {
  bold: ["<b>", "</b>"], italic: ["<i>", "</i>"], underline: ["<u>", "</u>"],
  strikethrough: ["<s>", "</s>"], code: ["<code>", "</code>"], pre: ["<pre>", "</pre>"],
  blockquote: ["<blockquote>", "</blockquote>"],
  expandable_blockquote: ["<blockquote>", "</blockquote>"],
  spoiler: ['<span class="spoiler">', "</span>"], bot_command: ['<span class="cmd">', "</span>"],
};

// Telegram apps make every /command in a text tappable, entity or not.
function plain(text) {
  return esc(text).replace(/(^|[\s(])(\/[a-z0-9_]{1,32})(?![\w/])/g,
    '$1<span class="cmd">$2</span>');
}

// Offsets are UTF-16 code units, which is what JavaScript strings index by.
function renderEntities(text, entities, start = 0, end = text.length) {
  const list = (entities || [])
    .filter((e) => e.offset >= start && e.offset + e.length <= end)
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  let out = "";
  let pos = start;
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    if (e.offset < pos) continue; // nested inside an earlier one: rendered by the recursion
    const stop = e.offset + e.length;
    out += plain(text.slice(pos, e.offset));
    const inner = renderEntities(text, list.slice(i + 1), e.offset, stop);
    if (e.type === "text_link") {
      out += `<a href="${esc(e.url)}" target="_blank" rel="noopener">${inner}</a>`;
    } else if (e.type === "url") {
      out += `<a href="${esc(text.slice(e.offset, stop))}" target="_blank" rel="noopener">${inner}</a>`;
    } else {
      const [open, close] = WRAP[e.type] || ["", ""];
      out += open + inner + close;
    }
    pos = stop;
  }
  return out + plain(text.slice(pos, end));
}

function clockText(seconds) {
  const options = { timeZone: S.state.tz, hour: "2-digit", minute: "2-digit", hour12: false };
  return new Date(seconds * 1000).toLocaleTimeString("en-GB", options);
}

function dayText(seconds) {
  const locale = { zh_Hans: "zh-CN", zh_Hant: "zh-TW", en: "en-GB" }[S.lang];
  return new Date(seconds * 1000).toLocaleDateString(locale, {
    timeZone: S.state.tz, weekday: "long", month: "long", day: "numeric",
  });
}

// ---------------------------------------------------------------- rendering

function personById(id) {
  return S.state.people.find((p) => p.id === id);
}

function renderPeople() {
  const nav = $("#people");
  nav.textContent = "";
  const group = S.state.group;
  const entries = [
    { chat: group.id, name: group.title, sub: t("demo.group_label"), initial: "群" },
    ...S.state.people.map((p) => ({
      chat: p.id, name: p.name, initial: p.name.slice(-1),
      sub: [t(`role.${p.role}`), p.village].filter(Boolean).join(" · "),
    })),
  ];
  for (const entry of entries) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "person";
    button.dataset.chat = entry.chat;
    button.dataset.name = entry.name;
    button.classList.toggle("active", entry.chat === S.chat);
    button.classList.toggle("unread", S.unread.has(entry.chat));
    button.innerHTML = `<span class="avatar">${esc(entry.initial)}</span>
      <span class="who"><div class="name">${esc(entry.name)}</div>
      <div class="sub">${esc(entry.sub)}</div></span><span class="dot"></span>`;
    button.addEventListener("click", () => openChat(entry.chat));
    nav.appendChild(button);
  }
}

function renderStrings() {
  document.documentElement.lang = { zh_Hans: "zh-Hans", zh_Hant: "zh-Hant", en: "en" }[S.lang];
  document.title = t("demo.title");
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll("[data-tp]")) el.placeholder = t(el.dataset.tp);
  const select = $("#lang");
  select.textContent = "";
  for (const lang of S.state.languages) {
    select.add(new Option(t(`lang.${lang}`), lang, false, lang === S.lang));
  }
  const speaker = $("#speaker");
  speaker.textContent = "";
  for (const p of S.state.people) {
    speaker.add(new Option(p.name, p.id, false, p.id === S.viewer));
  }
}

function renderHeader() {
  const group = S.state.group;
  const inGroup = S.chat === group.id;
  const person = personById(S.viewer);
  $("#chattitle").textContent = inGroup ? group.title : `${t("demo.bot_name")} · ${person.name}`;
  $("#chatsub").textContent = inGroup
    ? t("demo.group_label")
    : [t(`role.${person.role}`), person.township, person.village].filter(Boolean).join(" · ");
  $("#speakerbox").hidden = !inGroup;
  $("#speaker").value = String(S.viewer);
}

function messageNode(m) {
  const mine = m.from && m.from.id === S.viewer;
  const bot = m.from && m.from.id === S.state.bot_id;
  const box = document.createElement("div");
  box.className = "msg" + (mine ? " mine" : "");
  box.dataset.id = m.message_id;
  box.dataset.from = bot ? "bot" : String(m.from ? m.from.id : "");
  let html = "";
  if (S.chat === S.state.group.id && !mine) {
    html += `<div class="from">${esc(bot ? t("demo.bot_name") : m.from.first_name)}</div>`;
  }
  if (m.photo) {
    const biggest = m.photo[m.photo.length - 1];
    html += `<img alt="" src="/api/file?id=${encodeURIComponent(biggest.file_id)}">`;
  }
  if (m.voice) {
    html += `<audio controls preload="metadata" src="/api/file?id=${encodeURIComponent(m.voice.file_id)}"></audio>`;
  }
  if (m.document) {
    const name = m.document.file_name || "file";
    html += `<div>📄 <a href="/api/file?id=${encodeURIComponent(m.document.file_id)}" download="${esc(name)}">${esc(name)}</a></div>`;
  }
  if (m.location) {
    html += `<div>📍 ${m.location.latitude.toFixed(4)}, ${m.location.longitude.toFixed(4)}</div>`;
  }
  if (m.text !== undefined) html += `<div class="text">${renderEntities(m.text, m.entities)}</div>`;
  if (m.caption) html += `<div class="text">${renderEntities(m.caption, m.caption_entities)}</div>`;
  const edited = m.edit_date ? `${t("demo.edited")} ` : "";
  html += `<div class="meta">${edited}${clockText(m.date)}</div>`;
  box.innerHTML = html;
  for (const spoiler of box.querySelectorAll(".spoiler")) {
    spoiler.addEventListener("click", () => spoiler.classList.add("shown"));
  }
  return box;
}

function keyboardNode(m) {
  const rows = (m.reply_markup && m.reply_markup.inline_keyboard) || [];
  if (!rows.length) return null;
  const box = document.createElement("div");
  box.className = "kb";
  for (const row of rows) {
    const line = document.createElement("div");
    line.className = "kb-row";
    for (const b of row) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.text;
      if (b.callback_data !== undefined) {
        button.dataset.data = b.callback_data;
        button.addEventListener("click", () =>
          act("/api/press", { message_id: m.message_id, data: b.callback_data }));
      } else if (b.url) {
        button.addEventListener("click", () => window.open(b.url, "_blank", "noopener"));
      } else {
        button.disabled = true;
      }
      line.appendChild(button);
    }
    box.appendChild(line);
  }
  return box;
}

function renderMessages() {
  const list = $("#messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  list.textContent = "";
  let day = "";
  for (const m of S.messages) {
    const label = dayText(m.date);
    if (label !== day) {
      day = label;
      const divider = document.createElement("div");
      divider.className = "day";
      divider.textContent = label;
      list.appendChild(divider);
    }
    list.appendChild(messageNode(m));
    const kb = keyboardNode(m);
    if (kb) list.appendChild(kb);
  }
  if (atBottom || S.scrollDown) {
    list.scrollTop = list.scrollHeight;
    // Pictures grow the list once loaded: stay at the newest message.
    for (const img of list.querySelectorAll("img")) {
      img.addEventListener("load", () => { list.scrollTop = list.scrollHeight; });
    }
  }
  S.scrollDown = false;
}

function renderMenu() {
  const menu = $("#menu");
  menu.textContent = "";
  for (const c of S.commands) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.command = c.command;
    button.innerHTML = `<span class="c">/${esc(c.command)}</span><span>${esc(c.description)}</span>`;
    button.addEventListener("click", () => {
      menu.hidden = true;
      act("/api/send", { text: `/${c.command}` });
    });
    menu.appendChild(button);
  }
  $("#menubtn").disabled = S.commands.length === 0;
}

function renderViolations() {
  const all = S.state.violations;
  $("#violations").hidden = all.length === 0;
  const list = $("#violationlist");
  list.textContent = "";
  for (const text of all.slice(-20)) {
    const item = document.createElement("li");
    item.textContent = text;
    list.appendChild(item);
  }
}

function renderAll() {
  renderStrings();
  renderPeople();
  renderHeader();
  renderMessages();
  renderMenu();
  renderViolations();
}

// ---------------------------------------------------------------- data

async function loadState() {
  S.state = await api(`/api/state?lang=${S.lang}`);
  $("#clock").textContent = S.state.clock.text;
}

async function refresh() {
  if (S.loading) { S.again = true; return; }
  S.loading = true;
  try {
    do {
      S.again = false;
      const data = await api(`/api/chat?chat=${S.chat}&as=${S.viewer}`);
      S.messages = data.messages;
      S.commands = data.commands;
      const languageChanged = data.language !== S.lang;
      S.lang = data.language;
      if (languageChanged) await loadState();
      renderAll();
    } while (S.again);
  } finally {
    S.loading = false;
  }
}

function openChat(chat) {
  S.chat = chat;
  if (chat === S.state.group.id) {
    if (!S.speaker[chat]) {
      const lead = S.state.people.find((p) => p.role === "commissioner") || S.state.people[0];
      S.speaker[chat] = lead.id;
    }
    S.viewer = S.speaker[chat];
  } else {
    S.viewer = chat;
  }
  S.unread.delete(chat);
  S.scrollDown = true;
  $("#menu").hidden = true;
  document.body.classList.add("in-chat");
  history.replaceState(null, "", `#chat=${chat}`);
  refresh();
}

async function act(path, body) {
  try {
    await api(path, { as: S.viewer, chat: S.chat, ...body });
    S.scrollDown = true;
  } catch (error) {
    toast(error.message, false);
  }
}

async function upload(kind, file) {
  const query = new URLSearchParams({ as: S.viewer, chat: S.chat, kind, name: file.name });
  const response = await fetch(`/api/upload?${query}`, {
    method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file,
  });
  if (!response.ok) toast((await response.json()).error, false);
  S.scrollDown = true;
}

let toastTimer = null;
function toast(text, alert) {
  const box = $("#toast");
  box.textContent = text;
  box.className = alert ? "alert" : "";
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, alert ? 6000 : 2500);
}

function listen() {
  const source = new EventSource("/api/events");
  source.onopen = () => { $("#offline").hidden = true; refresh(); };
  source.onerror = () => { $("#offline").hidden = false; };
  source.onmessage = async (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "chat") {
      if (event.chat === S.chat) refresh();
      else { S.unread.add(event.chat); renderPeople(); }
    } else if (event.type === "commands") {
      refresh();
    } else if (event.type === "toast") {
      if (event.person === S.viewer && event.chat === S.chat) toast(event.text, event.alert);
    } else if (event.type === "violation") {
      S.state.violations.push(event.text);
      renderViolations();
    } else if (event.type === "clock") {
      await loadState();
      renderViolations();
    }
  };
}

// ---------------------------------------------------------------- wiring

function wire() {
  $("#composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#text").value;
    if (!text.trim()) return;
    $("#text").value = "";
    act("/api/send", { text });
  });
  $("#messages").addEventListener("click", (event) => {
    const command = event.target.closest(".cmd");
    if (command) act("/api/send", { text: command.textContent.trim() });
  });
  $("#menubtn").addEventListener("click", () => { $("#menu").hidden = !$("#menu").hidden; });
  $("#back").addEventListener("click", () => document.body.classList.remove("in-chat"));
  $("#photobtn").addEventListener("click", () => $("#photoinput").click());
  $("#filebtn").addEventListener("click", () => $("#fileinput").click());
  $("#photoinput").addEventListener("change", (e) => {
    if (e.target.files[0]) upload("photo", e.target.files[0]);
    e.target.value = "";
  });
  $("#fileinput").addEventListener("change", (e) => {
    if (e.target.files[0]) upload("document", e.target.files[0]);
    e.target.value = "";
  });
  $("#locationbtn").addEventListener("click", () => act("/api/location", {}));
  $("#voicebtn").addEventListener("click", () => act("/api/voice", {}));
  $("#speaker").addEventListener("change", (e) => {
    S.viewer = S.speaker[S.chat] = Number(e.target.value);
    refresh();
  });
  $("#lang").addEventListener("change", async (e) => {
    e.target.disabled = true;
    try {
      await api("/api/lang", { as: S.viewer, lang: e.target.value });
    } catch (error) {
      toast(error.message, false);
    } finally {
      e.target.disabled = false;
    }
  });
  for (const button of document.querySelectorAll("[data-move]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try { await api("/api/clock", { move: button.dataset.move }); } finally { button.disabled = false; }
    });
  }
  setInterval(async () => { await loadState(); }, 10000);
}

async function main() {
  await loadState();
  renderStrings();
  while (!S.state.ready) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await loadState();
  }
  $("#starting").classList.add("gone");
  wire();
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("chat"));
  const known = wanted === S.state.group.id || personById(wanted);
  openChat(known ? wanted : S.state.people[0].id);
  if (!known && window.matchMedia("(max-width: 720px)").matches) {
    document.body.classList.remove("in-chat");
  }
  listen();
}

main();
