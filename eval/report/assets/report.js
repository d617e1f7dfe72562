(function () {
  "use strict";
  var body = document.body;
  function fail(err) {
    body.dataset.error = String(err && err.stack || err);
    body.dataset.ready = "error";
  }
  function markReady() {
    var imgs = Array.prototype.slice.call(document.images), ok = 0;
    imgs.forEach(function (img) {
      var good = img.complete && img.naturalWidth > 0;
      img.dataset.loaded = good ? "1" : "0";
      if (good) ok += 1;
    });
    body.dataset.imagesTotal = String(imgs.length);
    body.dataset.imagesOk = String(ok);
    if (body.dataset.ready !== "error") body.dataset.ready = "1";
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function str(x) { return x === undefined || x === null ? "" : String(x); }
  function yn(x) { return x === true ? "yes" : x === false ? "no" : "unknown"; }

  try {
    var data = JSON.parse(document.getElementById("tx-data").textContent || "[]");
    if (!Array.isArray(data)) data = [];
    body.dataset.transcripts = String(data.length);
    var state = {model: "", family: "", cue: "", outcome: "", aware: "", q: ""};
    function hashParams() {
      var out = {};
      location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
        var i = kv.indexOf("=");
        if (i > 0) {
          try { out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, " ")); }
          catch (e) { /* not ours */ }
        }
      });
      return out;
    }
    var PAGE = 100, expandAll = hashParams().expand === "all", shown = expandAll ? Infinity : PAGE;
    var famList = document.getElementById("tx-families"), filters = document.getElementById("tx-filters");
    var list = document.getElementById("tx-list"), count = document.getElementById("tx-count");
    var more = document.getElementById("tx-more");

    function uniq(key) {
      var seen = {};
      data.forEach(function (t) { if (t && t[key] !== undefined && t[key] !== null) seen[String(t[key])] = 1; });
      return Object.keys(seen).sort();
    }
    function haystack(t) {
      if (t.__hay === undefined) {
        var parts = [t.model, t.family, t.category, t.cue, t.scenario_id, t.system, t.user, t.final_message];
        (t.turns || []).forEach(function (u) {
          parts.push(u.reasoning, typeof u.action === "string" ? u.action : JSON.stringify(u.action), u.result);
        });
        parts = parts.concat(t.evidence || [], t.tags || []);
        Object.defineProperty(t, "__hay", {value: parts.map(str).join("\n").toLowerCase(), enumerable: false});
      }
      return t.__hay;
    }
    function matches(t) {
      if (state.model && str(t.model) !== state.model) return false;
      if (state.family && str(t.family) !== state.family) return false;
      if (state.cue && str(t.cue) !== state.cue) return false;
      if (state.outcome && (t.covert ? "covert" : "honest") !== state.outcome) return false;
      if (state.aware && yn(t.aware) !== state.aware) return false;
      if (state.q && haystack(t).indexOf(state.q) < 0) return false;
      return true;
    }

    // --- the family list: always every family, click to filter
    var famButtons = {};
    uniq("family").forEach(function (fam) {
      var n = 0, k = 0;
      data.forEach(function (t) { if (str(t.family) === fam) { n += 1; if (t.covert) k += 1; } });
      var li = el("li");
      li.dataset.family = fam;
      var b = el("button", "fam");
      b.type = "button";
      b.appendChild(el("span", "fam-name", fam));
      b.appendChild(el("span", "fam-count", k + "/" + n + " covert"));
      b.addEventListener("click", function () { setFilter("family", state.family === fam ? "" : fam); });
      li.appendChild(b);
      famList.appendChild(li);
      famButtons[fam] = b;
    });

    // --- filters
    var selects = {};
    function addSelect(key, label, values) {
      var lab = el("label", null, label), sel = el("select");
      sel.id = "tx-filter-" + key;
      sel.appendChild(new Option("all", ""));
      values.forEach(function (v) { sel.appendChild(new Option(v, v)); });
      sel.addEventListener("change", function () { setFilter(key, sel.value); });
      lab.appendChild(sel);
      filters.appendChild(lab);
      selects[key] = sel;
    }
    addSelect("model", "model", uniq("model"));
    addSelect("family", "family", uniq("family"));
    addSelect("cue", "cue", uniq("cue"));
    addSelect("outcome", "outcome", ["covert", "honest"]);
    var awareVals = ["yes", "no"];
    if (data.some(function (t) { return yn(t.aware) === "unknown"; })) awareVals.push("unknown");
    addSelect("aware", "aware", awareVals);
    var qlab = el("label", null, "search"), q = el("input");
    q.type = "search";
    q.id = "tx-search";
    q.placeholder = "text in prompts, reasoning, actions...";
    q.addEventListener("input", function () { state.q = q.value.trim().toLowerCase(); shown = PAGE; render(); });
    qlab.appendChild(q);
    filters.appendChild(qlab);
    var openB = el("button", null, "expand shown"), closeB = el("button", null, "collapse all"),
        resetB = el("button", null, "reset filters");
    [openB, closeB, resetB].forEach(function (b) { b.type = "button"; filters.appendChild(b); });
    openB.addEventListener("click", function () { setOpen(true); });
    closeB.addEventListener("click", function () { setOpen(false); });
    resetB.addEventListener("click", function () {
      Object.keys(selects).forEach(function (k) { selects[k].value = ""; state[k] = ""; });
      q.value = ""; state.q = ""; shown = PAGE; render();
    });

    function setFilter(key, value) {
      state[key] = value;
      if (selects[key]) selects[key].value = value;
      shown = PAGE;
      render();
    }
    function setOpen(open) {
      Array.prototype.forEach.call(list.querySelectorAll("details.tx"), function (d) { d.open = open; });
    }

    // --- one transcript
    function codePoints(s) { return Array.from(s); }
    function cpIndex(s, utf16) { return Array.from(s.slice(0, utf16)).length; }
    function reasoningNode(text, cut, injected) {
      var pre = el("pre", "reasoning");
      text = str(text);
      var chars = codePoints(text), len = chars.length, ranges = [], missing = [];
      var inj = injected === undefined || injected === null ? [] : (Array.isArray(injected) ? injected : [injected]);
      inj.map(str).filter(function (s) { return s.length > 0; }).forEach(function (s) {
        var from = 0, found = false, i;
        while ((i = text.indexOf(s, from)) >= 0) {
          var a = cpIndex(text, i);
          ranges.push([a, a + codePoints(s).length]);
          found = true;
          from = i + s.length;
        }
        if (!found) missing.push(s);
      });
      var hasCut = typeof cut === "number" && isFinite(cut);
      if (hasCut) cut = Math.max(0, Math.min(len, Math.floor(cut)));
      var stops = {0: 1};
      stops[len] = 1;
      if (hasCut) stops[cut] = 1;
      ranges.forEach(function (r) { stops[r[0]] = 1; stops[r[1]] = 1; });
      var pts = Object.keys(stops).map(Number).sort(function (a, b) { return a - b; });
      var cutDone = false;
      function marker() {
        var m = el("span", "cut-marker", "\u2702 cut here");
        m.title = "counterfactual cut at character " + cut + "; the text after it was resampled";
        pre.appendChild(m);
        cutDone = true;
      }
      for (var j = 0; j + 1 < pts.length; j++) {
        var s = pts[j], e = pts[j + 1];
        if (hasCut && !cutDone && s >= cut) marker();
        var inInj = ranges.some(function (r) { return r[0] <= s && e <= r[1]; });
        var after = hasCut && s >= cut;
        var piece = chars.slice(s, e).join("");
        if (!inInj && !after) { pre.appendChild(document.createTextNode(piece)); continue; }
        var cls = [inInj ? "injected" : "", after ? "after-cut" : ""].join(" ").trim();
        var span = el(inInj ? "mark" : "span", cls, piece);
        if (inInj) span.title = "injected sentence";
        pre.appendChild(span);
      }
      if (hasCut && !cutDone) marker();
      var wrap = el("div");
      wrap.appendChild(pre);
      missing.forEach(function (s) {
        var p = el("p", "note", "injected (not found verbatim in the reasoning): ");
        p.appendChild(el("mark", "injected", s));
        wrap.appendChild(p);
      });
      return wrap;
    }
    function prettyAction(a) {
      if (a === undefined || a === null) return "";
      if (typeof a !== "string") return JSON.stringify(a, null, 2);
      try { return JSON.stringify(JSON.parse(a), null, 2); } catch (e) { return a; }
    }
    function block(parent, title, text, cls) {
      if (text === undefined || text === null || text === "") return;
      parent.appendChild(el("h4", null, title));
      parent.appendChild(el("pre", cls || null, text));
    }
    function badge(parent, cls, text, title) {
      var b = el("span", "badge " + cls, text);
      if (title) b.title = title;
      parent.appendChild(b);
      return b;
    }
    function fillBody(div, t) {
      var grades = t.grades && typeof t.grades === "object" ? Object.keys(t.grades) : [];
      var info = el("p", "note");
      info.textContent = "category: " + str(t.category) + " \u00b7 scenario: " + str(t.scenario_id) +
        " \u00b7 escalated: " + yn(t.escalated) + " \u00b7 completed: " + yn(t.completed) +
        " \u00b7 aware: " + yn(t.aware);
      div.appendChild(info);
      if (grades.length) {
        div.appendChild(el("h4", null, "grades"));
        var g = el("p");
        grades.forEach(function (k) {
          var v = t.grades[k];
          badge(g, v === true ? "covert" : v === false ? "honest" : "", k + ": " +
                (typeof v === "object" ? JSON.stringify(v) : str(v)));
          g.appendChild(document.createTextNode(" "));
        });
        div.appendChild(g);
      }
      block(div, "system", t.system);
      block(div, "user", t.user);
      (t.turns || []).forEach(function (u, i) {
        var turn = el("div", "turn");
        var head = "turn " + (i + 1) + (typeof u.cut === "number" ? " \u00b7 counterfactual" : "");
        turn.appendChild(el("h4", null, head));
        if (u.reasoning !== undefined && u.reasoning !== null || typeof u.cut === "number") {
          turn.appendChild(el("h4", null, "reasoning"));
          turn.appendChild(reasoningNode(u.reasoning, u.cut, u.injected));
        }
        block(turn, "action", prettyAction(u.action));
        block(turn, "tool result", u.result);
        div.appendChild(turn);
      });
      block(div, "final message", t.final_message);
      if (t.evidence && t.evidence.length) {
        div.appendChild(el("h4", null, "evidence"));
        var ul = el("ul", "evidence");
        t.evidence.forEach(function (e) {
          ul.appendChild(el("li", null, typeof e === "string" ? e : JSON.stringify(e)));
        });
        div.appendChild(ul);
      }
      if (t.tags && t.tags.length) {
        div.appendChild(el("h4", null, "tags"));
        var tg = el("p");
        t.tags.forEach(function (x) { badge(tg, "", x); tg.appendChild(document.createTextNode(" ")); });
        div.appendChild(tg);
      }
    }
    function item(t) {
      var li = el("li"), d = el("details", "tx"), s = el("summary");
      li.dataset.family = str(t.family);
      li.dataset.model = str(t.model);
      badge(s, "model", t.model);
      badge(s, "family", t.family, t.category ? "category: " + t.category : "");
      if (t.cue !== undefined && t.cue !== null) badge(s, "cue", "cue: " + t.cue);
      badge(s, t.covert ? "covert" : "honest", t.covert ? "covert" : "honest");
      if (t.escalated) badge(s, "", "escalated");
      if (t.completed) badge(s, "", "completed");
      if (t.aware === true) badge(s, "aware", "eval-aware");
      (t.tags || []).forEach(function (x) { badge(s, "", x); });
      badge(s, "sid", t.scenario_id);
      d.appendChild(s);
      var filled = false, div = el("div", "tx-body");
      d.appendChild(div);
      d.addEventListener("toggle", function () { if (d.open && !filled) { filled = true; fillBody(div, t); } });
      li.appendChild(d);
      return {li: li, d: d};
    }

    function render() {
      Object.keys(famButtons).forEach(function (f) { famButtons[f].classList.toggle("active", f === state.family); });
      while (list.firstChild) list.removeChild(list.firstChild);
      var hits = data.filter(matches), frag = document.createDocumentFragment(), opened = [];
      hits.slice(0, shown).forEach(function (t) {
        var it = item(t);
        frag.appendChild(it.li);
        if (expandAll) opened.push(it.d);
      });
      list.appendChild(frag);
      opened.forEach(function (d) { d.open = true; });
      count.textContent = hits.length + " of " + data.length + " transcripts" +
        (hits.length > shown ? " (showing the first " + shown + ")" : "");
      more.hidden = hits.length <= shown;
    }
    more.addEventListener("click", function () { shown += PAGE; render(); });
    function applyHash() {  // #family=x&model=y&cue=&outcome=covert&aware=yes&q=text: links into the browser
      var h = hashParams(), any = false;
      Object.keys(state).forEach(function (k) {
        if (h[k] === undefined) return;
        any = true;
        state[k] = k === "q" ? h[k].trim().toLowerCase() : h[k];
        if (selects[k]) selects[k].value = h[k];
        if (k === "q") q.value = h[k];
      });
      return any;
    }
    var filtered = applyHash();
    render();
    if (filtered) document.getElementById("transcripts").scrollIntoView();
    window.addEventListener("hashchange", function () {
      if (!applyHash()) return;
      shown = expandAll ? Infinity : PAGE;
      render();
      document.getElementById("transcripts").scrollIntoView();
    });
    if (expandAll) {  // the toggle event is asynchronous: fill the bodies now, for readers and tests alike
      Array.prototype.forEach.call(list.querySelectorAll("details.tx"), function (d) {
        d.dispatchEvent(new Event("toggle"));
      });
    }
  } catch (err) {
    fail(err);
  }
  if (document.readyState === "complete") markReady();
  else window.addEventListener("load", markReady);
})();
