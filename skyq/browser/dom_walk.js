// One walk over a frame's DOM: every visible interactable element gets a stable id
// (written into the page as an attribute) and the visible text around it is kept
// in document order. Open shadow roots are entered; iframes are walked separately,
// through Playwright's frames. Returns ONE JSON string: Playwright serialises a
// string about 7x faster than an array of objects. maxNodes caps the elements and
// maxText the text, apart: a text-heavy page must not crowd out its controls.
({ start, attr, maxNodes, maxText }) => {
  const ROLES = new Set([
    "button", "link", "checkbox", "radio", "tab", "menuitem", "menuitemcheckbox",
    "menuitemradio", "option", "combobox", "switch", "textbox", "searchbox", "slider",
    "spinbutton", "treeitem", "listbox",
  ]);
  const SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD", "META", "LINK", "IFRAME", "FRAME"]);
  const FIELDS = new Set(["INPUT", "TEXTAREA", "SELECT"]);
  let next = start;
  let textBudget = maxText;
  let truncated = false;
  let elements = 0;
  const nodes = [];

  const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
  const squash = (s) => (s || "").replace(/\s+/g, " ").trim();

  function isInteractable(el) {
    const tag = el.tagName;
    if (tag === "A") return el.hasAttribute("href") || el.hasAttribute("onclick");
    if (tag === "INPUT") return el.type !== "hidden";
    if (tag === "BUTTON" || tag === "SELECT" || tag === "TEXTAREA" || tag === "SUMMARY") return true;
    const role = el.getAttribute("role");
    if (role && ROLES.has(role)) return true;
    if (el.hasAttribute("onclick") || el.isContentEditable && !el.parentElement?.isContentEditable) return true;
    const tab = el.getAttribute("tabindex");
    return tab !== null && Number(tab) >= 0;
  }

  function visible(el) {
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }

  function labelOf(el) {
    const aria = el.getAttribute("aria-label");
    if (aria) return aria;
    const by = el.getAttribute("aria-labelledby");
    if (by) {
      const root = el.getRootNode();
      const txt = by.split(/\s+/).map((id) => root.getElementById?.(id)?.textContent || "").join(" ");
      if (squash(txt)) return squash(txt);
    }
    if (el.labels && el.labels.length) return squash(el.labels[0].innerText || el.labels[0].textContent);
    return "";
  }

  function describe(el) {
    const tag = el.tagName.toLowerCase();
    const a = {};
    const put = (k, v) => { if (v !== null && v !== undefined && v !== "") a[k] = clip(String(v), 120); };
    put("type", el.getAttribute("type"));
    put("name", el.getAttribute("name"));
    put("role", el.getAttribute("role"));
    put("label", labelOf(el));
    put("placeholder", el.getAttribute("placeholder"));
    put("title", el.getAttribute("title"));
    put("alt", el.getAttribute("alt"));
    if (tag === "a") put("href", el.getAttribute("href"));
    if (tag === "input" || tag === "textarea") {
      const kind = (el.type || "").toLowerCase();
      if (kind === "checkbox" || kind === "radio") a.checked = el.checked ? "true" : "false";
      else if (kind !== "password") put("value", el.value);
    }
    if (el.disabled) a.disabled = "true";
    if (el.required) a.required = "true";
    let text = "";
    let options;
    if (tag === "select") {
      options = Array.from(el.options).slice(0, 50).map((o) => clip(squash(o.label || o.text), 60));
      const chosen = el.selectedOptions[0];
      if (chosen) put("selected", squash(chosen.label || chosen.text));
    } else if (!FIELDS.has(el.tagName)) {
      text = clip(squash(el.innerText || el.textContent), 160);
    }
    return { tag, attrs: a, text, options };
  }

  function addText(text) {
    if (!text || textBudget <= 0) { if (text) truncated = true; return; }
    const t = clip(text, Math.min(textBudget, 500));
    textBudget -= t.length;
    nodes.push({ kind: "text", text: t });
  }

  function walk(node, inInteractive) {
    if (elements >= maxNodes) { truncated = true; return; }
    if (node.nodeType === Node.TEXT_NODE) {
      if (!inInteractive) {
        const t = squash(node.textContent);
        const parent = node.parentElement;
        if (t && parent && parent.checkVisibility({ checkVisibilityCSS: true, checkOpacity: true })) addText(t);
      }
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE && node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return;
    let interactive = inInteractive;
    if (node.nodeType === Node.ELEMENT_NODE) {
      if (SKIP.has(node.tagName)) return;
      if (isInteractable(node) && visible(node)) {
        let id = node.getAttribute(attr);
        if (!id) { id = "K" + next++; node.setAttribute(attr, id); }
        nodes.push({ kind: "element", id, ...describe(node) });
        elements++;
        interactive = true;
      }
      if (node.shadowRoot) walk(node.shadowRoot, interactive);
    }
    for (const child of node.childNodes) walk(child, interactive);
  }

  walk(document.body || document.documentElement, false);
  const doc = document.scrollingElement || document.documentElement;
  return JSON.stringify({
    next,
    nodes,
    truncated,
    title: document.title,
    url: location.href,
    scrollY: Math.round(window.scrollY),
    scrollHeight: doc ? doc.scrollHeight : 0,
    viewportHeight: window.innerHeight,
  });
}
