// Where a run's output can be read on its final page, so a published workflow reads it
// again without a model: each string or number of the output is looked for in the
// page's text (the smallest element holding it), and a list of objects whose items
// share a shape is turned into one selector for the items and one per field inside.
// Returns one JSON string (a plan tree); values not found stay constants.
(output) => {
  const NUMBER = /[-+]?\d[\d,]*(?:\.\d+)?/g;
  const norm = t => (t || "").replace(/\s+/g, " ").trim();
  const text = el => norm(el.innerText !== undefined ? el.innerText : el.textContent);
  const esc = s => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const all = [...document.body.querySelectorAll("*")].filter(
    el => !["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"].includes(el.tagName));

  // A class a person would write (not a generated hash), for readable selectors.
  const kind = n => {
    const tag = n.tagName.toLowerCase();
    const cls = [...n.classList].find(c => /^[A-Za-z][A-Za-z-]*$/.test(c) && c.length <= 30);
    return cls ? tag + "." + cls : tag;
  };
  const step = n => {
    if (n.tagName === "BODY") return "body";
    const k = kind(n);
    const alike = n.parentElement ? [...n.parentElement.children].filter(s => s.matches(k)) : [n];
    if (alike.length === 1) return k;
    let i = 1;
    for (let s = n.previousElementSibling; s; s = s.previousElementSibling)
      if (s.tagName === n.tagName) i++;
    return k + ":nth-of-type(" + i + ")";
  };
  const stableId = n => n.id && /^[A-Za-z][\w-]*$/.test(n.id) && !/\d{4,}/.test(n.id);
  const path = (el, root) => {
    const parts = [];
    for (let n = el; n && n !== root && n !== document.documentElement; n = n.parentElement) {
      if (!root && stableId(n)) { parts.unshift("#" + n.id); break; }
      parts.unshift(step(n));
    }
    return parts.join(" > ");
  };

  // How a value shows in an element's text: the whole text, a part of it, or the n-th number.
  const reading = (el, value) => {
    const t = text(el);
    if (typeof value === "number") {
      const tokens = t.match(NUMBER) || [];
      const nth = tokens.findIndex(tok => parseFloat(tok.replace(/,/g, "")) === value);
      if (nth < 0) return null;
      return { type: Number.isInteger(value) ? "integer" : "number", nth };
    }
    const v = norm(String(value));
    if (!v || !t.includes(v)) return null;
    if (t === v) return { type: "text" };
    const at = t.indexOf(v);
    return { type: "text", pattern: "^" + esc(t.slice(0, at)) + "(.+?)" + esc(t.slice(at + v.length)) + "$" };
  };
  const holds = (el, value) => reading(el, value) !== null;
  // The smallest elements showing the value (no child of theirs shows it too).
  const find = (value, scope) => {
    const pool = scope ? [...scope.querySelectorAll("*")] : all;
    const hits = pool.filter(el => holds(el, value));
    return hits.filter(el => !hits.some(o => o !== el && el.contains(o)));
  };
  const leaf = value => typeof value === "string" || typeof value === "number";

  const readAt = (value, el, root) => {
    const r = reading(el, value);
    return r && { kind: "read", css: path(el, root), ...r };
  };

  const plan = value => {
    if (leaf(value)) {
      const hits = find(value);
      return (hits.length && readAt(value, hits[0], null)) || { kind: "const", value };
    }
    if (Array.isArray(value)) {
      return eachPlan(value) || { kind: "list", items: value.map(plan) };
    }
    if (value && typeof value === "object") {
      const fields = {};
      for (const [k, v] of Object.entries(value)) fields[k] = plan(v);
      return { kind: "object", fields };
    }
    return { kind: "const", value };
  };

  const lca = els => {
    let a = els[0];
    while (a && !els.every(e => a.contains(e))) a = a.parentElement;
    return a;
  };

  // A list of objects read as "each element matching ITEMS, these fields inside it".
  const eachPlan = items => {
    if (!items.length || !items.every(i => i && typeof i === "object" && !Array.isArray(i))) return null;
    const keys = Object.keys(items[0]).filter(k => leaf(items[0][k]));
    if (!keys.length) return null;
    const containers = [];
    for (const item of items) {
      const els = keys.map(k => leaf(item[k]) ? find(item[k])[0] : null);
      if (els.some(e => !e)) return null;
      // Shared by the item's fields only: the smallest box holding them all.
      let box = lca(els);
      if (!box) return null;
      containers.push(box);
    }
    const first = containers[0];
    if (!first.parentElement) return null;
    const parentCss = path(first.parentElement, null);
    const itemsCss = (parentCss ? parentCss + " > " : "") + kind(first);
    const matched = [...document.querySelectorAll(itemsCss)];
    if (!containers.every(c => matched.includes(c))) return null;
    const start = matched.indexOf(first);
    const fields = {};
    for (const k of keys) {
      const el = find(items[0][k], first)[0] || (holds(first, items[0][k]) ? first : null);
      if (!el) return null;
      const spec = el === first ? { css: "", ...reading(el, items[0][k]) } : { css: path(el, first), ...reading(el, items[0][k]) };
      fields[k] = spec;
    }
    // Every item must read back as returned from its own box.
    for (let i = 0; i < items.length; i++) {
      const box = matched[start + i];
      if (!box) return null;
      for (const k of keys) {
        const el = fields[k].css ? box.querySelector(fields[k].css) : box;
        if (!el || !holds(el, items[i][k])) return null;
      }
    }
    return { kind: "each", css: itemsCss, skip: start, limit: items.length, fields };
  };

  return JSON.stringify(plan(output));
}
